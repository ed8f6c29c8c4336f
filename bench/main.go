// Command bench compares full validation of one RS256-2048 SMART access
// token by smartauth, golang-jwt v5, jwx v3, go-oidc and aws-jwt-verify
// (node), each against a raw RSA verify of the same token in the same round.
// run.sh installs aws-jwt-verify and runs it; see README.md.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/healthlake-smart/smartauth-go/bench/internal/runinfo"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/healthlake-smart/smartauth-go/bench/internal/fixture"
)

// sample is one contender's measurement in one round.
type sample struct {
	nsPerOp, ratio float64 // ratio: to the raw verify of the same runtime, same round
	goRatio        float64 // ratio to the Go raw verify of the same round
	allocs         int64   // -1: not measured (node)
}

func main() {
	testing.Init()
	rounds := flag.Int("rounds", 15, "interleaved rounds; the table shows medians")
	benchtime := flag.Duration("benchtime", 200*time.Millisecond, "time per contender per round")
	nodeScript := flag.String("node-script", "node/verify.cjs", "node side; skipped when AWS_JWT_VERIFY_PREFIX is unset")
	flag.Parse()
	if err := flag.Set("test.benchtime", benchtime.String()); err != nil {
		fail(err)
	}
	f, err := fixture.New(time.Now())
	if err != nil {
		fail(err)
	}
	raw, err := rawVerify(f)
	if err != nil {
		fail(err)
	}
	cs, err := goContenders(f)
	if err != nil {
		fail(err)
	}
	for _, c := range append([]contender{raw}, cs...) {
		if err := c.validate(f.Good); err != nil {
			fail(fmt.Errorf("%s rejects the benchmark token: %w", c.name, err))
		}
	}
	var node *nodeSide
	if os.Getenv("AWS_JWT_VERIFY_PREFIX") != "" {
		if node, err = startNode(f, *nodeScript); err != nil {
			fail(err)
		}
		defer node.stop()
	}

	results := map[string][]sample{}
	order := []string{raw.name}
	for _, c := range cs {
		order = append(order, c.name)
	}
	if node != nil {
		order = append(order, nodeRaw, nodeAWS)
	}
	for r := range *rounds {
		// Each contender runs right after its own baseline measurement, so
		// load that drifts during a round hits both sides of the ratio; the
		// order rotates so none always runs first.
		var base sample
		for i := range cs {
			c := cs[(i+r)%len(cs)]
			base = measure(raw, f.Good)
			base.ratio, base.goRatio = 1, 1
			results[raw.name] = append(results[raw.name], base)
			s := measure(c, f.Good)
			s.ratio = s.nsPerOp / base.nsPerOp
			s.goRatio = s.ratio
			results[c.name] = append(results[c.name], s)
		}
		if node != nil {
			nr, aws, err := node.round(*benchtime)
			if err != nil {
				fail(err)
			}
			// Against Go's raw verify: the last baseline of this round.
			results[nodeRaw] = append(results[nodeRaw], sample{nr, 1, nr / base.nsPerOp, -1})
			results[nodeAWS] = append(results[nodeAWS], sample{aws, aws / nr, aws / base.nsPerOp, -1})
		}
		fmt.Fprintf(os.Stderr, "round %d/%d done (load %s)\n", r+1, *rounds, runinfo.LoadAvg())
	}
	printTable(os.Stdout, order, results, len(f.Good), *rounds, *benchtime)
}

func measure(c contender, tok string) sample {
	var failed error
	res := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := c.validate(tok); err != nil && failed == nil {
				failed = err
			}
		}
	})
	if failed != nil {
		fail(fmt.Errorf("%s: %w", c.name, failed))
	}
	return sample{nsPerOp: float64(res.T.Nanoseconds()) / float64(res.N), allocs: res.AllocsPerOp()}
}

const (
	nodeRaw = "node crypto.verify RSA-SHA256 (node baseline)"
	nodeAWS = "aws-jwt-verify 5.2.1 verifySync (node)"
)

// nodeSide is a node process running verify.cjs serve: one request per round.
type nodeSide struct {
	cmd *exec.Cmd
	in  *bufio.Writer
	out *bufio.Scanner
	dir string
}

func startNode(f *fixture.Fixture, script string) (*nodeSide, error) {
	dir, err := os.MkdirTemp("", "smartauth-bench-")
	if err != nil {
		return nil, err
	}
	fx, err := f.NodeJSON()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "fixture.json")
	if err := os.WriteFile(path, fx, 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command("node", script, "serve", path)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	return &nodeSide{cmd: cmd, in: bufio.NewWriter(stdin), out: bufio.NewScanner(stdout), dir: dir}, nil
}

func (n *nodeSide) round(d time.Duration) (raw, aws float64, err error) {
	fmt.Fprintf(n.in, "round %d\n", d.Milliseconds())
	if err := n.in.Flush(); err != nil {
		return 0, 0, err
	}
	if !n.out.Scan() {
		return 0, 0, errors.Join(errors.New("node side exited"), n.out.Err())
	}
	var r struct{ Raw, AWSJwtVerify float64 }
	if err := json.Unmarshal(n.out.Bytes(), &r); err != nil {
		return 0, 0, fmt.Errorf("node side: %w", err)
	}
	return r.Raw, r.AWSJwtVerify, nil
}

func (n *nodeSide) stop() {
	_ = n.cmd.Process.Kill()
	_ = n.cmd.Wait()
	_ = os.RemoveAll(n.dir)
}

func printTable(w *os.File, order []string, results map[string][]sample, tokenLen, rounds int, bt time.Duration) {
	fmt.Fprintf(w, "One RS256-2048 SMART access token (%d bytes); %d rounds, each contender %v right after %v of the raw verify; medians of the per-round ratios.\n", tokenLen, rounds, bt, bt)
	fmt.Fprintf(w, "%s %s/%s, %d CPUs, load average at the end: %s.\n\n", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runinfo.LoadAvg())
	fmt.Fprintln(w, "| validator | × raw verify, same runtime | × Go raw verify | ns/op | allocs/op |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|")
	for _, name := range order {
		ss := results[name]
		allocs := "–"
		if ss[0].allocs >= 0 {
			allocs = fmt.Sprint(ss[len(ss)-1].allocs)
		}
		fmt.Fprintf(w, "| %s | %.2f | %.2f | %.0f | %s |\n", name,
			median(ss, func(s sample) float64 { return s.ratio }),
			median(ss, func(s sample) float64 { return s.goRatio }),
			median(ss, func(s sample) float64 { return s.nsPerOp }), allocs)
	}
}

func median(ss []sample, f func(sample) float64) float64 {
	v := make([]float64, len(ss))
	for i, s := range ss {
		v[i] = f(s)
	}
	return runinfo.Median(v)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}
