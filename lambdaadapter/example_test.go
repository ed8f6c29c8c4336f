package lambdaadapter_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws"

	"github.com/healthlake-smart/smartauth-go/healthlake"
	"github.com/healthlake-smart/smartauth-go/lambdaadapter"
	"github.com/healthlake-smart/smartauth-go/smartauth"
)

// A HealthLake IdP Lambda: the validator and the handler are built once at
// init; lambda.Start(h) would run it. Here the handler is invoked in-process
// with one allowed and one denied event, and its decision log goes to
// stdout without the time, latency and detail fields.
func Example() {
	// The identity provider's signing key and its public half in a key set.
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	keys, err := smartauth.NewStaticKeySetFromKeys(&smartauth.Key{ID: "k1", Algorithm: "RS256", Public: &priv.PublicKey})
	if err != nil {
		panic(err)
	}
	v, err := smartauth.NewValidator(smartauth.Config{
		Issuers: []smartauth.IssuerConfig{{
			Issuer:   "https://kc.example.com/realms/fhir",
			KeySet:   keys,
			Audience: smartauth.EndpointAudience(),
		}},
		Now: func() time.Time { return time.Unix(1700000060, 0) },
	})
	if err != nil {
		panic(err)
	}
	a, err := healthlake.New(v, healthlake.Config{RoleARN: "arn:aws:iam::123456789012:role/stack-healthlake-smart"})
	if err != nil {
		panic(err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == "latency" || a.Key == "detail" {
				return slog.Attr{}
			}
			return a
		},
	}))
	h := lambdaadapter.New(a, lambdaadapter.WithLogger(logger))

	// An access token as the IdP would issue it.
	const endpoint = "https://healthlake.us-east-1.amazonaws.com/datastore/0123456789abcdef0123456789abcdef/r4/"
	payload, _ := json.Marshal(map[string]any{
		"iss": "https://kc.example.com/realms/fhir", "sub": "36fa0f91", "typ": "Bearer", "azp": "smart-app",
		"aud": []string{"account", endpoint}, "iat": 1700000000, "exp": 1700000300,
		"scope": "openid launch/patient patient/*.read", "patient": "456",
	})
	hdr := jws.NewHeaders()
	_ = hdr.Set(jws.KeyIDKey, "k1")
	token, err := jws.Sign(payload, jws.WithKey(jwa.RS256(), priv, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		panic(err)
	}

	lh := lambda.NewHandler(h)
	for _, bearer := range []string{string(token), "not-a-jwt"} {
		ev, _ := json.Marshal(map[string]string{
			"datastoreEndpoint": endpoint, "bearerToken": bearer, "operationName": "SearchWithGet",
		})
		out, err := lh.Invoke(context.Background(), ev)
		var pretty bytes.Buffer
		_ = json.Indent(&pretty, out, "", "  ")
		fmt.Println(pretty.String(), err)
	}
	// Output:
	// level=INFO msg=authorization decision=allow reason=ok operation=SearchWithGet datastoreId="" issuer=https://kc.example.com/realms/fhir client=smart-app scopes=3
	// {
	//   "authPayload": {
	//     "iss": "https://kc.example.com/realms/fhir",
	//     "aud": "https://healthlake.us-east-1.amazonaws.com/datastore/0123456789abcdef0123456789abcdef/r4/",
	//     "iat": 1700000000,
	//     "nbf": 1700000000,
	//     "exp": 1700000300,
	//     "isAuthorized": true,
	//     "uid": "36fa0f91",
	//     "scope": "openid launch/patient patient/*.read",
	//     "patient": "456"
	//   },
	//   "iamRoleARN": "arn:aws:iam::123456789012:role/stack-healthlake-smart"
	// } <nil>
	// level=WARN msg=authorization decision=deny reason=malformed operation=SearchWithGet datastoreId="" issuer="" client="" scopes=0
	// {
	//   "authPayload": {
	//     "isAuthorized": false
	//   }
	// } <nil>
}
