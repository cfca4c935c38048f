"""Summarizes a schemathesis NDJSON event stream: cases per operation and phase, answers by status.

    .venv/bin/python scripts/fuzz-summary.py SERVICE EVENTS.ndjson

scripts/fuzz-api.sh runs it after each service's run; it prints one line per operation
(the cases schemathesis generated for it in each phase, the answers by status) and a total.
The stateful phase's cases are counted under the operation each step called; the coverage
phase's requests with undeclared methods (for the 405 checks) under the operation whose path
they use.
"""

import collections
import json
import sys

PHASES = ("examples", "coverage", "fuzzing", "stateful")


def main(service: str, path: str) -> None:
    cases: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    statuses: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    checks: set[str] = set()
    failures = 0
    with open(path, encoding="utf-8") as events:
        for line in events:
            event = json.loads(line)
            finished = event.get("ScenarioFinished")
            if finished is None:
                continue
            phase = finished.get("phase")
            recorder = finished.get("recorder") or {}
            for case_id, case in (recorder.get("cases") or {}).items():
                value = case.get("value") or {}
                # A scenario is one operation's (its coverage cases include other methods on the
                # path, for the 405 checks), except the stateful one: each step its own.
                label = recorder.get("label", "?")
                if phase == "stateful":
                    label = f"{value.get('method', '?').upper()} {value.get('path', '?')}"
                cases[label][phase] += 1
                interaction = (recorder.get("interactions") or {}).get(case_id) or {}
                response = interaction.get("response") or {}
                statuses[label][response.get("status_code", "no answer")] += 1
            for results in (recorder.get("checks") or {}).values():
                for result in results:
                    checks.add(result.get("name", "?"))
                    if result.get("status") == "failure":
                        failures += 1
    width = max((len(label) for label in cases), default=10)
    total = collections.Counter()
    print(f"{service}: cases per operation ({', '.join(PHASES)}), answers by status")
    for label in sorted(cases):
        total.update(cases[label])
        per_phase = " + ".join(str(cases[label][phase]) for phase in PHASES)
        answers = ", ".join(f"{status}: {count}" for status, count in sorted(statuses[label].items(), key=str))
        print(f"  {label:<{width}}  {sum(cases[label].values()):>5} = {per_phase}   [{answers}]")
    print(f"  {len(cases)} operations, {sum(total.values())} cases, {failures} failed checks; "
          f"checks run: {', '.join(sorted(checks))}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
