package smartauth

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

// FuzzSplitToken: splitToken accepts exactly the three non-empty parts that
// strict unpadded base64url (encoding/base64) decodes, made of base64url
// characters only, and returns those decodings and the signing input.
func FuzzSplitToken(f *testing.F) {
	for _, s := range []string{
		"eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln", "a.b.c", "a..c", ".b.c", "a.b.", "a.b.c.d", "a.b",
		"eyJh\nbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln", "YQ.YQ\r.YQ", "ey+h.b.c", "eyJ=.b.c", "ab.cd.ef", "YQ.YQ.YQ", "YR.YQ.YQ", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		got, err := splitToken(tok, DefaultMaxTokenSize)
		segs := strings.Split(tok, ".")
		var want [3][]byte
		ok := len(segs) == 3 && len(tok) <= DefaultMaxTokenSize && !strings.ContainsAny(tok, "\r\n")
		for i := 0; ok && i < 3; i++ {
			var derr error
			want[i], derr = base64.RawURLEncoding.Strict().DecodeString(segs[i])
			ok = derr == nil && segs[i] != "" && (i > 0 || len(want[0]) <= maxHeaderSize)
		}
		if (err == nil) != ok {
			t.Fatalf("splitToken err=%v, reference ok=%v", err, ok)
		}
		if !ok {
			return
		}
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		if strings.Trim(segs[0]+segs[1]+segs[2], alphabet) != "" {
			t.Fatal("accepted a byte outside base64url")
		}
		if !bytes.Equal(got.headerJSON, want[0]) || !bytes.Equal(got.payload, want[1]) ||
			!bytes.Equal(got.signature, want[2]) || string(got.signingInput) != segs[0]+"."+segs[1] {
			t.Fatal("parts differ from the reference decoding")
		}
	})
}
