package cfncheck

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dependencies returns every resource name the resource depends on,
// directly or transitively (references and DependsOn).
func dependencies(tm *Template, name string) map[string]bool {
	seen := map[string]bool{}
	var visit func(string)
	visit = func(n string) {
		r := tm.Resources[n]
		next := slices.Clone(r.DependsOn)
		next = append(next, tm.References(r.Properties)...)
		if r.Condition != "" {
			next = append(next, tm.References(tm.Conditions[r.Condition])...)
		}
		for _, x := range next {
			if _, isRes := tm.Resources[x]; isRes && !seen[x] {
				seen[x] = true
				visit(x)
			}
		}
	}
	visit(name)
	return seen
}

// TestRoleNames: the service role's fixed name, which the validator spells
// without a reference, is unique per region (IAM names are account-wide), and
// a stack name too long for it fails at ValidatorExecRole, created before the
// data store, instead of after the data store's long creation.
func TestRoleNames(t *testing.T) {
	for _, d := range deployments(t) {
		t.Run(d.name, func(t *testing.T) {
			svc := d.tmpl.Resources["HealthLakeServiceRole"]
			exe := d.tmpl.Resources["ValidatorExecRole"]
			assert.Equal(t, "smart-us-east-1-healthlake", d.props(t, "HealthLakeServiceRole")["RoleName"])
			assert.Equal(t, "smart-us-east-1-hl-validator", d.props(t, "ValidatorExecRole")["RoleName"])

			// Order: the exec role is in the data store's dependency chain, the
			// service role waits for the data store.
			assert.True(t, dependencies(d.tmpl, "Datastore")["ValidatorExecRole"], "ValidatorExecRole is created before the data store")
			assert.True(t, dependencies(d.tmpl, "HealthLakeServiceRole")["Datastore"], "the service role is created after the data store")
			// Every resource created after the data store: only the service role.
			var after []string
			for name := range d.tmpl.Resources {
				if dependencies(d.tmpl, name)["Datastore"] {
					after = append(after, name)
				}
			}
			assert.Equal(t, []string{"HealthLakeServiceRole"}, after)
			// No other role has a fixed name (nothing else can collide).
			for name, r := range d.tmpl.Resources {
				if r.Type == "AWS::IAM::Role" && name != "HealthLakeServiceRole" && name != "ValidatorExecRole" {
					assert.NotContains(t, r.Properties, "RoleName", name)
				}
			}

			envExpr := Dig(d.tmpl.Resources["ValidatorFunction"].Properties, "Environment", "Variables", "SERVICE_ROLE_ARN")
			regions := []string{"us-east-1", "eu-west-2", "ap-south-1", "ap-southeast-2", "us-gov-west-1", "ap-northeast-3"}
			for _, reg := range regions {
				for n := 1; n <= 128; n++ {
					name := "s" + strings.Repeat("x", n-1)
					env := Env{Pseudo: map[string]string{"AWS::StackName": name, "AWS::Region": reg, "AWS::AccountId": account, "AWS::Partition": "aws"}}
					s, err := d.tmpl.Eval(svc.Properties["RoleName"], env)
					require.NoError(t, err)
					e, err := d.tmpl.Eval(exe.Properties["RoleName"], env)
					require.NoError(t, err)
					arn, err := d.tmpl.Eval(envExpr, env)
					require.NoError(t, err)
					require.Equal(t, "arn:aws:iam::"+account+":role/"+s.(string), arn, "the validator names the service role")
					require.Contains(t, s, reg, "the service role name is unique per region")
					require.Contains(t, e, reg)
					require.GreaterOrEqual(t, len(e.(string)), len(s.(string)),
						"stack %d characters in %s: ValidatorExecRole's name must be at least as long as the service role's, so that IAM's 64-character limit fails it first", n, reg)
				}
			}
		})
	}
}
