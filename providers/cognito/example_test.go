package cognito_test

import (
	"fmt"

	"github.com/healthlake-smart/smartauth-go/providers/cognito"
)

// The issuer, the multi-region issuer and the JWKS URL of a user pool are
// derived from its region and pool ID; a pool ID from another region is a
// configuration error.
func Example() {
	iss, err := cognito.IssuerURL("us-east-1", "us-east-1_Example")
	if err != nil {
		panic(err)
	}
	mr, err := cognito.MultiRegionIssuerURL("us-east-1", "us-east-1_Example")
	if err != nil {
		panic(err)
	}
	fmt.Println(iss)
	fmt.Println(mr)
	fmt.Println(cognito.JWKSURL(iss))

	_, err = cognito.New(cognito.Config{
		Region:     "us-east-1",
		UserPoolID: "eu-west-1_Example",
		ClientIDs:  []string{"1example23456789abcdefghij"},
	})
	fmt.Println(err)
	// Output:
	// https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example
	// https://issuer-cognito-idp.us-east-1.amazonaws.com/us-east-1_Example
	// https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example/.well-known/jwks.json
	// cognito: invalid configuration: user pool ID "eu-west-1_Example" is not in region "us-east-1"
}
