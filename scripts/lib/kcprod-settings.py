#!/usr/bin/env python3
"""Image settings of the smartauth Keycloak image, read from deploy/keycloak/Dockerfile.

Usage: kcprod-settings.py DOCKERFILE

Prints one setting a line, fields separated by a tab, for scripts/lib/keycloak-prod.sh:

    image_version   V                 Keycloak version of ARG KEYCLOAK_IMAGE (...keycloak:V)
    build_opt       --OPTION=VALUE    each option of the one `RUN .../kc.sh build ...` line
    image_cmd       ARGS              the exec-form CMD (the entrypoint's default arguments)
    image_env       NAME  VALUE       each variable of the final stage's ENV instruction(s)

The template's settings come from tools/cfncheck/cmd/kcprodsettings, which evaluates keycloak.yaml.
The parsing is deliberately strict and line based: anything it does not recognise is an error, so
a change of the Dockerfile cannot silently drop a setting from the smoke test.
"""

import json
import re
import shlex
import sys


def fail(msg):
    sys.exit("kcprod-settings: " + msg)


def dockerfile_settings(path):
    with open(path, encoding="utf-8") as f:
        raw = f.read().splitlines()
    # Join continuation lines (trailing backslash), drop comments and blank lines.
    lines, cur = [], ""
    for line in raw:
        if not cur and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            cur += line.rstrip()[:-1] + " "
            continue
        lines.append(cur + line)
        cur = ""
    if cur:
        fail("%s: file ends inside a continued line" % path)

    out = []
    version = None
    for line in lines:
        m = re.match(r"^ARG\s+KEYCLOAK_IMAGE=\S*/keycloak:([0-9]+\.[0-9]+\.[0-9]+)(@sha256:[0-9a-f]{64})?\s*$", line)
        if m:
            version = m.group(1)
    if version is None:
        fail("%s: no `ARG KEYCLOAK_IMAGE=.../keycloak:X.Y.Z` line" % path)
    out.append(("image_version", version))

    builds = [l for l in lines if re.match(r"^RUN\s", l) and re.search(r"\bkc\.sh\s+build\b", l)]
    if len(builds) != 1:
        fail("%s: expected exactly one `RUN .../kc.sh build ...` instruction, found %d" % (path, len(builds)))
    words = shlex.split(builds[0])
    i = next(k for k, w in enumerate(words) if w.endswith("kc.sh"))
    if words[i + 1] != "build":
        fail("%s: unexpected kc.sh build line: %s" % (path, builds[0]))
    opts = words[i + 2:]
    if not opts:
        fail("%s: kc.sh build without options" % path)
    for o in opts:
        if not re.fullmatch(r"--[a-z][a-z0-9-]*(=[A-Za-z0-9_.,:/-]+)?", o):
            fail("%s: kc.sh build option %r is not of the form --name[=value]" % (path, o))
        out.append(("build_opt", o))

    # CMD of the final stage, exec form only: the arguments the entrypoint gets without a StartCommand.
    cmds = [l for l in lines if re.match(r"^CMD\s", l)]
    if len(cmds) != 1:
        fail("%s: expected exactly one CMD instruction, found %d" % (path, len(cmds)))
    try:
        cmd = json.loads(cmds[0][3:].strip())
    except ValueError:
        cmd = None
    if not isinstance(cmd, list) or not all(isinstance(w, str) for w in cmd):
        fail("%s: CMD is not in exec form: %s" % (path, cmds[0]))
    out.append(("image_cmd", " ".join(cmd)))

    # ENV of the final stage (after the last FROM), both `ENV A=1 B=2` and `ENV A 1` forms.
    last_from = max(k for k, l in enumerate(lines) if re.match(r"^FROM\s", l))
    for line in lines[last_from:]:
        m = re.match(r"^ENV\s+(.*)$", line)
        if not m:
            continue
        words = shlex.split(m.group(1))
        if words and "=" not in words[0]:
            words = [words[0] + "=" + " ".join(words[1:])]
        for w in words:
            name, sep, value = w.partition("=")
            if not sep or not re.fullmatch(r"[A-Z][A-Z0-9_]*", name):
                fail("%s: cannot read ENV entry %r" % (path, w))
            out.append(("image_env", name, value))
    return out


def main():
    if len(sys.argv) != 2:
        fail("usage: kcprod-settings.py DOCKERFILE")
    rows = dockerfile_settings(sys.argv[1])
    for row in rows:
        for field in row:
            if "\t" in field or "\n" in field:
                fail("a setting contains a tab or newline: %r" % (row,))
        print("\t".join(row))


if __name__ == "__main__":
    main()
