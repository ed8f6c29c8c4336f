package keycloak_test

import (
	"fmt"

	"github.com/healthlake-smart/smartauth-go/providers/keycloak"
)

// The issuer of a realm is <base>/realms/<realm>, with the legacy /auth (or
// any relative path) in between when configured; the JWKS is the realm's
// certs endpoint. A realm that is not a plain name is a configuration error.
func Example() {
	for _, prefix := range []string{"", "/auth"} {
		iss, err := keycloak.IssuerURL("https://kc.example.com/", "fhir", prefix)
		if err != nil {
			panic(err)
		}
		fmt.Println(iss)
		fmt.Println(keycloak.JWKSURL(iss))
	}

	_, err := keycloak.New(keycloak.Config{BaseURL: "https://kc.example.com", Realm: "fhir/admin"})
	fmt.Println(err)
	// Output:
	// https://kc.example.com/realms/fhir
	// https://kc.example.com/realms/fhir/protocol/openid-connect/certs
	// https://kc.example.com/auth/realms/fhir
	// https://kc.example.com/auth/realms/fhir/protocol/openid-connect/certs
	// keycloak: invalid configuration: realm "fhir/admin" is empty or not a plain name
}
