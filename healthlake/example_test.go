package healthlake_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws"

	"github.com/healthlake-smart/smartauth-go/healthlake"
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

// A Cognito user pool behind a HealthLake data store: the token's client_id
// must be allowed, token_use must be "access", and the resource-server
// prefix is stripped from the scopes before they reach HealthLake.
func ExampleAuthorizer_Authorize() {
	priv, keys := validatorExampleKey()
	now := time.Unix(1700000000, 0) // fixed clock, for a stable output

	v, err := smartauth.NewValidator(smartauth.Config{
		Issuers: []smartauth.IssuerConfig{{
			Issuer:        "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example",
			KeySet:        keys,
			Audience:      smartauth.ClientIDs("app-client-1"),
			TokenKind:     smartauth.RequireTokenUse("access"),
			ScopePrefixes: []string{"https://fhir.example.com"},
		}},
		// Cognito access tokens carry no aud: pin the data store.
		Endpoints: []string{"https://healthlake.us-east-1.amazonaws.com/datastore/0123456789abcdef0123456789abcdef/r4/"},
		Now:       func() time.Time { return now },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	a, err := healthlake.New(v, healthlake.Config{RoleARN: "arn:aws:iam::123456789012:role/healthlake-smart"})
	if err != nil {
		fmt.Println(err)
		return
	}

	token := validatorExampleSign(priv, `{
		"iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example",
		"sub": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
		"client_id": "app-client-1",
		"token_use": "access",
		"scope": "openid https://fhir.example.com/patient/*.read launch/patient aws.cognito.signin.user.admin",
		"iat": 1699999990, "exp": 1700003590,
		"fhirUser": "Practitioner/123", "patient": "456"
	}`)

	d := a.Authorize(context.Background(), healthlake.Event{
		DatastoreEndpoint: "https://healthlake.us-east-1.amazonaws.com/datastore/0123456789abcdef0123456789abcdef/r4/",
		BearerToken:       token,
		OperationName:     "SearchWithGet",
	})
	out, _ := json.MarshalIndent(d.Response, "", "  ")
	fmt.Println(d.Allowed, d.Reason)
	fmt.Println(string(out))
	// Output:
	// true ok
	// {
	//   "authPayload": {
	//     "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example",
	//     "aud": "https://healthlake.us-east-1.amazonaws.com/datastore/0123456789abcdef0123456789abcdef/r4/",
	//     "iat": 1699999990,
	//     "nbf": 1699999990,
	//     "exp": 1700003590,
	//     "isAuthorized": true,
	//     "uid": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
	//     "scope": "openid patient/*.read launch/patient",
	//     "fhirUser": "Practitioner/123",
	//     "patient": "456"
	//   },
	//   "iamRoleARN": "arn:aws:iam::123456789012:role/healthlake-smart"
	// }
}

// A denied request gets a well-formed deny; Reason is what to log.
func ExampleReason() {
	priv, keys := validatorExampleKey()
	const endpoint = "https://healthlake.us-east-1.amazonaws.com/datastore/0123456789abcdef0123456789abcdef/r4/"
	v, err := smartauth.NewValidator(smartauth.Config{
		Issuers: []smartauth.IssuerConfig{{
			Issuer:   "https://keycloak.example.com/realms/fhir",
			KeySet:   keys,
			Audience: smartauth.EndpointAudience(),
		}},
		Now: func() time.Time { return time.Unix(1700000000, 0) },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	a, err := healthlake.New(v, healthlake.Config{RoleARN: "arn:aws:iam::123456789012:role/healthlake-smart"})
	if err != nil {
		fmt.Println(err)
		return
	}
	expired := validatorExampleSign(priv, `{"iss":"https://keycloak.example.com/realms/fhir","aud":"`+endpoint+`",
		"sub":"u1","typ":"Bearer","scope":"patient/*.read","iat":1699990000,"exp":1699993600}`)
	foreign := validatorExampleSign(priv, `{"iss":"https://keycloak.example.com/realms/fhir","aud":"https://other.example.com/r4/",
		"sub":"u1","typ":"Bearer","scope":"patient/*.read","iat":1699999990,"exp":1700003590}`)

	for _, tok := range []string{expired, foreign, "not-a-token"} {
		d := a.Authorize(context.Background(), healthlake.Event{DatastoreEndpoint: endpoint, BearerToken: tok})
		out, _ := json.Marshal(d.Response)
		fmt.Println(d.Allowed, d.Reason, errors.Is(d.Err, smartauth.ErrExpired), string(out))
	}
	// Output:
	// false exp true {"authPayload":{"isAuthorized":false}}
	// false aud false {"authPayload":{"isAuthorized":false}}
	// false malformed false {"authPayload":{"isAuthorized":false}}
}
