#!/usr/bin/env python3
"""scripts/check-imports.py: every module a target imports is declared in Package.swift.

Reads `swift package dump-package` (the manifest as SwiftPM understands it) and each target's
`import` lines; prints the undeclared ones and exits 1 if there are any. System modules
(Foundation, Glibc, Synchronization, Testing, ...) need no declaration.
"""
import json, os, re, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SYSTEM = {"Foundation", "FoundationEssentials", "FoundationNetworking", "Glibc", "Darwin", "Dispatch",
          "Synchronization", "Testing", "XCTest", "_Concurrency", "Observation", "os"}
# Products whose module names differ from the product name.
PRODUCT_MODULES = {"ArgumentParser": {"ArgumentParser"}, "HummingbirdTesting": {"HummingbirdTesting"}}

manifest = json.loads(subprocess.run(["swift", "package", "--package-path", ROOT, "dump-package"],
                                     check=True, capture_output=True, text=True).stdout)
problems = []
for target in manifest["targets"]:
    if target["type"] == "system":
        continue
    declared = set()
    for dependency in target["dependencies"]:
        for kind in ("byName", "target", "product"):
            if kind in dependency:
                name = dependency[kind][0]
                declared |= PRODUCT_MODULES.get(name, {name})
    path = target.get("path") or os.path.join("Tests" if target["type"] == "test" else "Sources", target["name"])
    imports = set()
    for folder, _, files in os.walk(os.path.join(ROOT, path)):
        for name in files:
            if name.endswith(".swift"):
                with open(os.path.join(folder, name), encoding="utf-8") as source:
                    for line in source:
                        match = re.match(r"\s*(?:@testable\s+|@_exported\s+)?import\s+(?:struct\s+|enum\s+|class\s+|func\s+)?([A-Za-z_][A-Za-z0-9_]*)", line)
                        if match:
                            imports.add(match.group(1))
    for module in sorted(imports - declared - SYSTEM - {target["name"]}):
        problems.append(f"{target['name']} imports {module} but Package.swift does not declare it")
for problem in problems:
    print(problem)
print(f"check-imports: {len(manifest['targets'])} targets, {len(problems)} undeclared imports")
sys.exit(1 if problems else 0)
