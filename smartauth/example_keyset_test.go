package smartauth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"

	"github.com/healthlake-smart/smartauth-go/smartauth"
	"github.com/lestrrat-go/jwx/v3/jwk"
)

// exampleJWK turns a public key into a JWKS entry with the given members.
func exampleJWK(pub any, members map[string]string) json.RawMessage {
	k, err := jwk.Import(pub)
	if err != nil {
		panic(err)
	}
	for name, v := range members {
		if err := k.Set(name, v); err != nil {
			panic(err)
		}
	}
	data, err := json.Marshal(k)
	if err != nil {
		panic(err)
	}
	return data
}

func exampleJWKS(entries ...json.RawMessage) []byte {
	data, err := json.Marshal(map[string]any{"keys": entries})
	if err != nil {
		panic(err)
	}
	return data
}

// ParseJWKS applies the load policy: Keycloak's encryption key, a
// symmetric key and a key without alg are dropped, with a reason each.
func ExampleParseJWKS() {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	doc := exampleJWKS(
		exampleJWK(&ec.PublicKey, map[string]string{"kid": "sig-1", "alg": "ES256", "use": "sig"}),
		exampleJWK(&rsaKey.PublicKey, map[string]string{"kid": "enc-1", "alg": "RSA-OAEP", "use": "enc"}),
		exampleJWK([]byte("0123456789abcdef0123456789abcdef"), map[string]string{"kid": "hmac", "alg": "HS256"}),
		exampleJWK(&rsaKey.PublicKey, map[string]string{"kid": "no-alg"}),
	)

	keys, dropped, err := smartauth.ParseJWKS(doc)
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	for kid, k := range keys {
		fmt.Printf("admitted %s (%s)\n", kid, k.Algorithm)
	}
	for _, d := range dropped {
		fmt.Printf("dropped #%d %s: %s\n", d.Index, d.ID, d.Reason)
	}
	// Output:
	// admitted sig-1 (ES256)
	// dropped #1 enc-1: use is not "sig"
	// dropped #2 hmac: symmetric (oct) key
	// dropped #3 no-alg: missing alg
}

// A StaticKeySet serves a fixed JWKS, for tests and offline use.
func ExampleNewStaticKeySet() {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ks, err := smartauth.NewStaticKeySet(exampleJWKS(
		exampleJWK(&ec.PublicKey, map[string]string{"kid": "k1", "alg": "ES256"}),
	))
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	ctx := context.Background()

	k, err := ks.Key(ctx, "k1")
	fmt.Println(k.ID, k.Algorithm, err)

	_, err = ks.Key(ctx, "k2")
	fmt.Println(errors.Is(err, smartauth.ErrKidNotFound))
	// Output:
	// k1 ES256 <nil>
	// true
}

// A RemoteKeySet is built once per issuer and hydrated at Lambda init. Here
// the JWKS endpoint is a local test server; production URLs are https.
func ExampleNewRemoteKeySet() {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	body := exampleJWKS(exampleJWK(&ec.PublicKey, map[string]string{"kid": "k1", "alg": "ES256"}))
	var fetches atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fetches.Add(1)
		w.Header().Set("Cache-Control", "max-age=3600")
		_, _ = w.Write(body)
	}))
	defer srv.Close()

	ks, err := smartauth.NewRemoteKeySet(srv.URL+"/.well-known/jwks.json", smartauth.RemoteOptions{
		HTTPClient:   srv.Client(),
		InsecureHTTP: true, // local test server only: MUST NOT be used in production
		OnError:      func(err error) { /* send to your logger */ },
	})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	ctx := context.Background()
	if err := ks.Hydrate(ctx); err != nil { // at init, outside the handler
		fmt.Println("hydrate:", err)
	}

	k, err := ks.Key(ctx, "k1")
	fmt.Println(k.ID, k.Algorithm, err)

	// An unknown kid costs one refetch, then the miss penalty window
	// answers at once without any request.
	_, err = ks.Key(ctx, "forged")
	fmt.Println(errors.Is(err, smartauth.ErrKidNotFound))
	_, err = ks.Key(ctx, "forged-again")
	fmt.Println(errors.Is(err, smartauth.ErrKidNotFound))
	fmt.Println("fetches:", fetches.Load())
	// Output:
	// k1 ES256 <nil>
	// true
	// true
	// fetches: 2
}

// Without InsecureHTTP a plain-HTTP JWKS URL is a configuration error.
func ExampleRemoteOptions_insecureHTTP() {
	_, err := smartauth.NewRemoteKeySet("http://idp.example/jwks", smartauth.RemoteOptions{})
	fmt.Println(errors.Is(err, smartauth.ErrConfig))
	// Output:
	// true
}
