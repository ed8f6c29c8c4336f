#!/usr/bin/env python3
"""Production settings of the smartauth Keycloak image, read from the files that define them.

Usage: kcprod-settings.py DOCKERFILE TEMPLATE

Reads deploy/keycloak/Dockerfile and deploy/cloudformation/keycloak.yaml and prints one setting a
line, fields separated by a tab, for scripts/lib/keycloak-prod.sh:

    image_version   V                 Keycloak version of ARG KEYCLOAK_IMAGE (...keycloak:V)
    build_opt       --OPTION=VALUE    each option of the one `RUN .../kc.sh build ...` line
    image_cmd       ARGS              the exec-form CMD (the entrypoint's default arguments)
    image_env       NAME  VALUE       each variable of the final stage's ENV instruction(s)
    start_command   COMMAND LINE      the App Runner StartCommand of KeycloakMode production
    health_path     PATH              the App Runner health check path
    port            PORT              the App Runner ImageConfiguration port
    env             NAME  KIND  VALUE the App Runner runtime variables and secrets: KIND is
                                      "literal" (VALUE is the template's value), "ref" (a parameter,
                                      condition or secret: VALUE empty), "secret" (VALUE empty)

Every name a template entry can set is printed, whatever its condition; the caller decides which of
them production without KeycloakHostname sets. The parsing is deliberately strict and line based
(no YAML library ships with Python): anything it does not recognise is an error with the line, so a
change of the Dockerfile or the template cannot silently drop a setting from the smoke test.
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


def template_settings(path):
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    out = []

    def find(pattern, start=0):
        for k in range(start, len(lines)):
            if re.search(pattern, lines[k]):
                return k
        fail("%s: no line matches %s" % (path, pattern))

    svc = find(r"^  Keycloak:\s*$")
    if not re.search(r"Type:\s*AWS::AppRunner::Service", lines[svc + 1]):
        fail("%s: resource Keycloak is not an AWS::AppRunner::Service" % path)
    # The service's lines: up to the next resource (two-space indent) or section.
    end = next((k for k in range(svc + 1, len(lines)) if re.match(r"^ {0,2}[A-Za-z]", lines[k])), len(lines))
    body = range(svc + 1, end)

    k = find(r"^\s+StartCommand:\s*!If\s*$", svc)
    if k >= end or not re.fullmatch(r"\s+- IsProduction\s*", lines[k + 1]):
        fail("%s: StartCommand is not `!If` with IsProduction first" % path)
    m = re.fullmatch(r"\s+- (\S[^#]*?)\s*(#.*)?", lines[k + 2])
    if not m:
        fail("%s:%d: cannot read the production StartCommand" % (path, k + 3))
    out.append(("start_command", m.group(1)))

    k = find(r"^\s+Port:\s*'?[0-9]+'?\s*$", svc)
    out.append(("port", re.search(r"[0-9]+", lines[k]).group(0)))

    k = find(r"^\s+HealthCheckConfiguration:\s*$", svc)
    p = find(r"^\s+Path:\s*\S+", k)
    if p >= end:
        fail("%s: no health check Path" % path)
    out.append(("health_path", lines[p].split(":", 1)[1].strip()))

    seen = set()
    for block, kind in (("RuntimeEnvironmentVariables", None), ("RuntimeEnvironmentSecrets", "secret")):
        start = find(r"^\s+%s:\s*$" % block, svc)
        if start >= end:
            fail("%s: no %s in the Keycloak service" % (path, block))
        indent = len(lines[start]) - len(lines[start].lstrip())
        k = start + 1
        while k < end and (not lines[k].strip() or len(lines[k]) - len(lines[k].lstrip()) > indent):
            line = lines[k]
            for m in re.finditer(r"\bName:\s*([A-Za-z_][A-Za-z0-9_]*)", line):
                name = m.group(1)
                if kind == "secret":
                    entry = (name, "secret", "")
                else:
                    # One-line { Name: X, Value: V } with a plain value; anything else is a reference.
                    v = re.search(r"\bName:\s*%s\s*,\s*Value:\s*([^,}]+?)\s*\}" % name, line)
                    if not v and re.fullmatch(r"\s*-\s*Name:\s*%s\s*" % name, line):
                        # Block form: the Value is on the next line.
                        v = re.fullmatch(r"\s*Value:\s*(.+?)\s*", lines[k + 1])
                    if not v:
                        fail("%s:%d: cannot read the value of %s" % (path, k + 1, name))
                    value = v.group(1)
                    if value.startswith("!") or value.startswith("["):
                        entry = (name, "ref", "")
                    else:
                        entry = (name, "literal", value.strip("'\""))
                if name in seen:
                    fail("%s:%d: %s is set twice" % (path, k + 1, name))
                seen.add(name)
                out.append(("env",) + entry)
            k += 1
    if not seen:
        fail("%s: no runtime environment variables found" % path)
    return out


def main():
    if len(sys.argv) != 3:
        fail("usage: kcprod-settings.py DOCKERFILE TEMPLATE")
    rows = dockerfile_settings(sys.argv[1]) + template_settings(sys.argv[2])
    for row in rows:
        for field in row:
            if "\t" in field or "\n" in field:
                fail("a setting contains a tab or newline: %r" % (row,))
        print("\t".join(row))


if __name__ == "__main__":
    main()
