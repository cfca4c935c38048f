// hiredis 0.14 (Debian) has no version function; including the header is all Swift needs.
#include <hiredis/hiredis.h>
