package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
)

// runDecode prints a token's header and claims without verifying anything.
func runDecode(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("decode", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: smartauth decode TOKEN\n\nPrints the header and claims of a compact JWS. NOTHING IS VERIFIED.\nExit status: 0 decoded, 1 not a decodable compact JWS, 2 usage error.")
	}
	if err := fs.Parse(args); err != nil {
		return helpOrUsage(err)
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	tok := strings.TrimSpace(fs.Arg(0))
	if len(tok) > 7 && strings.EqualFold(tok[:7], "bearer ") {
		tok = tok[7:]
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		fmt.Fprintf(stderr, "smartauth decode: not a compact JWS (%d parts, want 3)\n", len(parts))
		return 1
	}
	fmt.Fprintln(stdout, "WARNING: decoded only, NOT VERIFIED: signature, issuer, audience and expiry were not checked.")
	for i, name := range []string{"header", "claims"} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			fmt.Fprintf(stderr, "smartauth decode: %s is not base64url: %v\n", name, err)
			return 1
		}
		var out bytes.Buffer
		if err := json.Indent(&out, raw, "", "  "); err != nil {
			fmt.Fprintf(stderr, "smartauth decode: %s is not JSON: %v\n", name, err)
			return 1
		}
		fmt.Fprintf(stdout, "%s (unverified):\n%s\n", name, out.String())
	}
	fmt.Fprintf(stdout, "signature: %d bytes (not shown, not verified)\n", base64.RawURLEncoding.DecodedLen(len(parts[2])))
	return 0
}
