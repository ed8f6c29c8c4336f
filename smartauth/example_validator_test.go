package smartauth_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws"

	"github.com/healthlake-smart/smartauth-go/smartauth"
)

// validatorExampleKey stands in for the IdP's signing key. A real deployment loads
// the IdP's public keys with a RemoteKeySet (or a JWKS file with
// NewStaticKeySet); here the example signs its own token.
func validatorExampleKey() (*rsa.PrivateKey, *smartauth.StaticKeySet) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	keys, err := smartauth.NewStaticKeySetFromKeys(&smartauth.Key{ID: "key-1", Algorithm: "RS256", Public: &priv.PublicKey})
	if err != nil {
		panic(err)
	}
	return priv, keys
}

// validatorExampleSign signs claims as the IdP would.
func validatorExampleSign(priv *rsa.PrivateKey, claims string) string {
	hdr := jws.NewHeaders()
	if err := hdr.Set(jws.KeyIDKey, "key-1"); err != nil {
		panic(err)
	}
	tok, err := jws.Sign([]byte(claims), jws.WithKey(jwa.RS256(), priv, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		panic(err)
	}
	return string(tok)
}

// NewValidator fails closed: a configuration that would accept any issuer,
// audience or unbounded clock skew is refused, with every problem listed.
func ExampleNewValidator_configError() {
	_, err := smartauth.NewValidator(smartauth.Config{
		Issuers: []smartauth.IssuerConfig{{
			Issuer:     "http://keycloak.example.com/realms/fhir",
			Algorithms: []string{"HS256"},
		}},
		ClockSkew: time.Hour,
	})
	fmt.Println(errors.Is(err, smartauth.ErrConfig))
	fmt.Println(err)
	// Output:
	// true
	// smartauth: invalid configuration: ClockSkew 1h0m0s outside [0, 5m0s]
	// smartauth: invalid configuration: issuer "http://keycloak.example.com/realms/fhir" is not https (InsecureAllowHTTPIssuers is off)
	// smartauth: invalid configuration: issuer "http://keycloak.example.com/realms/fhir" has no KeySet
	// smartauth: invalid configuration: issuer "http://keycloak.example.com/realms/fhir" has no audience policy
	// smartauth: invalid configuration: issuer "http://keycloak.example.com/realms/fhir": algorithm "HS256" is not an allowed asymmetric JWS algorithm
}

// Validate returns the verified claims and the granted SMART scopes, for
// callers that are not the HealthLake Lambda (an API in front of FHIR, a
// CLI).
func ExampleValidator_Validate() {
	priv, keys := validatorExampleKey()
	v, err := smartauth.NewValidator(smartauth.Config{
		Issuers: []smartauth.IssuerConfig{{
			Issuer:    "https://keycloak.example.com/realms/fhir",
			KeySet:    keys,
			Audience:  smartauth.ExactAudience("https://fhir.example.com/r4"),
			TokenKind: smartauth.RequirePayloadType("Bearer"),
		}},
		// ExactAudience does not look at a data store endpoint; Validate is
		// used here outside HealthLake, where there is none.
		InsecureSkipEndpointCheck: true,
		Now:                       func() time.Time { return time.Unix(1700000000, 0) },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	raw := validatorExampleSign(priv, `{"iss":"https://keycloak.example.com/realms/fhir","aud":["account","https://fhir.example.com/r4/"],
		"sub":"u1","azp":"svc","typ":"Bearer","iat":1699999990,"exp":1700003590,
		"scope":"openid email patient/Observation.rs xpatient/*.read user/Patient.read"}`)

	tok, err := v.Validate(context.Background(), "Bearer "+raw, "")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tok.Issuer, tok.Algorithm, tok.Claims.AuthorizedParty)
	for _, s := range tok.Scopes {
		fmt.Println(s.String(), s.IsResource())
	}
	fmt.Println("dropped:", tok.DroppedScopes)
	// Output:
	// https://keycloak.example.com/realms/fhir RS256 svc
	// openid false
	// patient/Observation.rs true
	// user/Patient.read true
	// dropped: 2
}
