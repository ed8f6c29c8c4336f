package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/healthlake-smart/smartauth-go/bench/internal/fixture"
)

// TestContendersValidate keeps the comparison fair: every contender must
// accept the benchmark token and really check signature, audience and
// expiry (a contender that skipped one would look faster than it is).
func TestContendersValidate(t *testing.T) {
	f, err := fixture.New(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cs, err := goContenders(f)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := rawVerify(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := raw.validate(""); err != nil {
		t.Fatalf("raw verify: %v", err)
	}
	for _, c := range cs {
		t.Run(c.name, func(t *testing.T) {
			if err := c.validate(f.Good); err != nil {
				t.Fatalf("rejects the good token: %v", err)
			}
			for name, tok := range map[string]string{"wrong audience": f.WrongAud, "expired": f.Expired, "bad signature": f.BadSig} {
				if err := c.validate(tok); err == nil {
					t.Errorf("accepts the %s token", name)
				}
			}
		})
	}
}

// TestContenderNotBearer: where the contender is configured for the token
// type, a payload typ other than Bearer (an ID token) is refused.
func TestContenderNotBearer(t *testing.T) {
	f, err := fixture.New(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cs, err := goContenders(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if err := c.validate(f.IDToken); err == nil {
			t.Errorf("%s accepts a token with typ ID", c.name)
		}
	}
}

// TestAWSJwtVerify runs the node side's check mode. It needs node and
// aws-jwt-verify under AWS_JWT_VERIFY_PREFIX (run.sh installs it and sets
// BENCH_REQUIRE_NODE=1, which turns a missing install into a failure).
func TestAWSJwtVerify(t *testing.T) {
	if os.Getenv("AWS_JWT_VERIFY_PREFIX") == "" {
		if os.Getenv("BENCH_REQUIRE_NODE") != "" {
			t.Fatal("AWS_JWT_VERIFY_PREFIX is not set")
		}
		t.Skip("AWS_JWT_VERIFY_PREFIX not set: run bench/run.sh to install aws-jwt-verify")
	}
	f, err := fixture.New(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	fx, err := f.NodeJSON()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "fixture.json")
	if err := os.WriteFile(path, fx, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("node", "node/verify.cjs", "check", path).Output()
	if err != nil {
		t.Fatalf("node check: %v", err)
	}
	var got map[string]string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("node check output %q: %v", out, err)
	}
	if got["good"] != "ok" {
		t.Errorf("aws-jwt-verify rejects the good token: %s", got["good"])
	}
	for _, name := range []string{"wrongAud", "expired", "badSig", "idToken"} {
		if v, ok := got[name]; !ok || v == "ok" {
			t.Errorf("aws-jwt-verify accepts the %s token (%q)", name, v)
		} else {
			t.Logf("%s: %s", name, v)
		}
	}
}

// BenchmarkContenders is the same measurement as the bench command, for
// `go test -bench` and its profilers (not interleaved: use run.sh for the
// table).
func BenchmarkContenders(b *testing.B) {
	f, err := fixture.New(time.Now())
	if err != nil {
		b.Fatal(err)
	}
	raw, err := rawVerify(f)
	if err != nil {
		b.Fatal(err)
	}
	cs, err := goContenders(f)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range append([]contender{raw}, cs...) {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := c.validate(f.Good); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
