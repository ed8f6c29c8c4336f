package metadata_test

import (
	"fmt"

	"github.com/healthlake-smart/smartauth-go/internal/metadata"
)

func ExampleBuild() {
	disc, err := metadata.CognitoDiscovery("us-east-1", "us-east-1_AbC123", "smart-123456789012")
	if err != nil {
		panic(err)
	}
	m, err := metadata.Build(disc, metadata.Settings{
		Strategy:     metadata.SMARTOnFHIR, // adds permission-v1 (unless omitted) and permission-v2
		Capabilities: []string{"launch-standalone", "client-confidential-symmetric", "context-standalone-patient", "permission-patient"},
		GrantTypes:   []string{"authorization_code", "client_credentials"},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(m.AuthorizationEndpoint)
	fmt.Println(m.Capabilities)
	s, err := m.Quoted() // the form IdentityProviderConfiguration.Metadata takes
	if err != nil {
		panic(err)
	}
	fmt.Println(s)
	// Output:
	// https://smart-123456789012.auth.us-east-1.amazoncognito.com/oauth2/authorize
	// [launch-standalone client-confidential-symmetric context-standalone-patient permission-patient permission-v1 permission-v2]
	// "{\"issuer\":\"https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123\",\"jwks_uri\":\"https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123/.well-known/jwks.json\",\"authorization_endpoint\":\"https://smart-123456789012.auth.us-east-1.amazoncognito.com/oauth2/authorize\",\"token_endpoint\":\"https://smart-123456789012.auth.us-east-1.amazoncognito.com/oauth2/token\",\"token_endpoint_auth_methods_supported\":[\"client_secret_basic\",\"client_secret_post\"],\"grant_types_supported\":[\"authorization_code\",\"client_credentials\"],\"response_types_supported\":[\"code\"],\"revocation_endpoint\":\"https://smart-123456789012.auth.us-east-1.amazoncognito.com/oauth2/revoke\",\"code_challenge_methods_supported\":[\"S256\"],\"capabilities\":[\"launch-standalone\",\"client-confidential-symmetric\",\"context-standalone-patient\",\"permission-patient\",\"permission-v1\",\"permission-v2\"]}"
}

func ExampleCheck() {
	doc := `{"issuer":"https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123",
	 "authorization_endpoint":"https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123/oauth2/authorize",
	 "token_endpoint":"https://smart.auth.us-east-1.amazoncognito.com/oauth2/token",
	 "grant_types_supported":["client_credentials"],
	 "code_challenge_methods_supported":["plain","S256"],
	 "capabilities":["client-confidential-symmetric","permission-v2"]}`
	for _, p := range metadata.Check([]byte(doc), metadata.SMARTOnFHIR) {
		fmt.Println(p)
	}
	// Output:
	// code_challenge_methods_supported: contains "plain"; SMART App Launch 2.2 forbids it: a plain challenge gives no protection once intercepted; fix: remove "plain" (and disallow it in the IdP)
	// authorization_endpoint: "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123/oauth2/authorize" is on the cognito-idp API host; OAuth endpoints live on the user pool domain (https://<prefix>.auth.<region>.amazoncognito.com or a custom domain); fix: use https://<domain>/oauth2/authorize
}
