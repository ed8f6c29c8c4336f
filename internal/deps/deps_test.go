// Package deps_test guards the dependency surface of the core packages
// (README "Dependencies"): smartauth, healthlake, scopes and the providers
// must build without aws-lambda-go and without any module outside jwx v3
// (with its own dependencies), go-json-experiment/json, samber/lo and the
// standard library.
package deps_test

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// corePackages are the packages whose dependencies are checked, as
// `go list` patterns relative to the module root.
var corePackages = []string{"./smartauth/...", "./healthlake/...", "./scopes/...", "./providers/cognito", "./providers/keycloak"}

const (
	lambdaModule = "github.com/aws/aws-lambda-go"
	jwxModule    = "github.com/lestrrat-go/jwx/v3"
	loModule     = "github.com/samber/lo"
	jsonModule   = "github.com/go-json-experiment/json" // encoding/json/v2
	// lruModule holds smartauth's verified-token cache (expirable LRU);
	// it has no dependencies of its own.
	lruModule = "github.com/hashicorp/golang-lru/v2"
)

// jwxOwnDeps are the modules jwx v3 itself builds with (not its test
// dependencies such as testify). A module listed here must also be
// required by jwx in `go mod graph` (checked below), so the list cannot
// become a back door for unrelated modules.
var jwxOwnDeps = []string{
	"github.com/lestrrat-go/blackmagic",
	"github.com/lestrrat-go/dsig",
	"github.com/lestrrat-go/dsig-secp256k1",
	"github.com/lestrrat-go/httpcc",
	"github.com/lestrrat-go/httprc/v3",
	"github.com/lestrrat-go/option/v2",
	"github.com/decred/dcrd/dcrec/secp256k1/v4",
	"github.com/decred/dcrd/crypto/blake256",
	"github.com/goccy/go-json",
	"github.com/segmentio/asm",
	"github.com/valyala/fastjson",
	"golang.org/x/sys",
}

// loOwnDeps are the modules samber/lo builds with.
var loOwnDeps = []string{"golang.org/x/text"}

// goTool returns the go command, skipping the test only when there is none.
func goTool(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("go command not found in PATH (%v): cannot run go list", err)
	}
	return path
}

func run(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "%s %s:\n%s", name, strings.Join(args, " "), stderr.String())
	return stdout.String()
}

// moduleRoot returns the directory of the main module's go.mod.
func moduleRoot(t *testing.T, goCmd string) (dir, module string) {
	t.Helper()
	gomod := strings.TrimSpace(run(t, ".", goCmd, "env", "GOMOD"))
	require.NotEmpty(t, gomod)
	require.NotEqual(t, "/dev/null", gomod, "not inside a module")
	dir = filepath.Dir(gomod)
	module = strings.TrimSpace(run(t, dir, goCmd, "list", "-m"))
	return dir, module
}

// requiredBy returns the modules reachable from root in `go mod graph`.
func requiredBy(graph, root string) map[string]bool {
	edges := map[string][]string{}
	for line := range strings.Lines(graph) {
		from, to, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok {
			continue
		}
		fromPath, _, _ := strings.Cut(from, "@")
		toPath, _, _ := strings.Cut(to, "@")
		edges[fromPath] = append(edges[fromPath], toPath)
	}
	seen := map[string]bool{}
	stack := []string{root}
	for len(stack) > 0 {
		m := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, next := range edges[m] {
			if !seen[next] {
				seen[next] = true
				stack = append(stack, next)
			}
		}
	}
	return seen
}

func TestCoreDependencies(t *testing.T) {
	goCmd := goTool(t)
	root, mainModule := moduleRoot(t, goCmd)

	// One line per package: "<import path> <module path or empty for std>".
	args := append([]string{"list", "-deps", "-f", "{{.ImportPath}} {{with .Module}}{{.Path}}{{end}}"}, corePackages...)
	out := run(t, root, goCmd, args...)

	modules := map[string][]string{} // module -> packages
	for line := range strings.Lines(out) {
		pkg, mod, _ := strings.Cut(strings.TrimSpace(line), " ")
		if pkg == "" {
			continue
		}
		if mod == "" {
			// Standard library (and vendored std packages) have no module.
			assert.False(t, strings.Contains(strings.SplitN(pkg, "/", 2)[0], "."),
				"package %s has no module but looks like a non-std import path", pkg)
			continue
		}
		modules[mod] = append(modules[mod], pkg)
	}
	require.Contains(t, modules, mainModule, "go list saw the core packages")
	require.Contains(t, modules, jwxModule, "the core uses jwx v3: the check is not vacuous")

	if pkgs, ok := modules[lambdaModule]; ok {
		t.Errorf("core packages depend on %s through %v; only lambdaadapter may import it", lambdaModule, pkgs)
	}

	allowed := map[string]bool{mainModule: true, jwxModule: true, loModule: true, jsonModule: true, lruModule: true}
	for _, m := range slices.Concat(jwxOwnDeps, loOwnDeps) {
		allowed[m] = true
	}
	var bad []string
	for mod, pkgs := range modules {
		if !allowed[mod] {
			bad = append(bad, mod+" (packages "+strings.Join(pkgs, ", ")+")")
		}
	}
	sort.Strings(bad)
	assert.Empty(t, bad, "modules outside jwx v3 (and its own dependencies), go-json-experiment/json, samber/lo, hashicorp/golang-lru/v2 and the standard library")

	// The allow-list itself must stay honest: each jwx/lo dependency that
	// actually appears is required by jwx or lo in the module graph.
	graph := run(t, root, goCmd, "mod", "graph")
	fromJWX, fromLo := requiredBy(graph, jwxModule), requiredBy(graph, loModule)
	for mod := range modules {
		switch {
		case mod == mainModule || mod == jwxModule || mod == loModule || mod == jsonModule || mod == lruModule:
		case slices.Contains(jwxOwnDeps, mod):
			assert.True(t, fromJWX[mod], "%s is on the jwx allow-list but jwx does not require it", mod)
		case slices.Contains(loOwnDeps, mod):
			assert.True(t, fromLo[mod], "%s is on the lo allow-list but lo does not require it", mod)
		}
	}
}
