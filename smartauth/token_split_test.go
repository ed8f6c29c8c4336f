package smartauth

import (
	"bytes"
	"testing"
)

// FuzzSplitFast: splitFast accepts exactly the tokens splitChecked accepts,
// with the same parts; what it refuses, splitChecked refuses with the
// precise error.
func FuzzSplitFast(f *testing.F) {
	for _, s := range []string{
		"eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln", "a.b.c", "a..c", ".b.c", "a.b.", "a.b.c.d", "a.b",
		"eyJh\nbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln", "ey+h.b.c", "eyJ=.b.c", "ab.cd.ef", "YQ.YQ.YQ", "YR.YQ.YQ", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		fast, ok := splitFast(tok, DefaultMaxTokenSize)
		checked, err := splitChecked(tok, DefaultMaxTokenSize)
		if ok != (err == nil) {
			t.Fatalf("splitFast ok=%v, splitChecked err=%v", ok, err)
		}
		if !ok {
			return
		}
		if !bytes.Equal(fast.headerJSON, checked.headerJSON) || !bytes.Equal(fast.payload, checked.payload) ||
			!bytes.Equal(fast.signature, checked.signature) || !bytes.Equal(fast.signingInput, checked.signingInput) {
			t.Fatal("parts differ")
		}
	})
}
