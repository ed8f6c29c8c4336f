// Command kcprodsettings prints how deploy/cloudformation/keycloak.yaml starts
// Keycloak in KeycloakMode production, for the production smoke of
// scripts/lib/keycloak-prod.sh:
//
//	kcprodsettings TEMPLATE first|second
//
// first is the stack's first deploy (KeycloakHostname empty), second the one
// after it (KeycloakHostname set). The properties of the Keycloak
// AWS::AppRunner::Service are evaluated with the cfncheck evaluator, so the
// template's conditions are resolved; the output is one setting a line,
// fields separated by a tab:
//
//	start_command  COMMAND LINE
//	port           PORT
//	health_path    PATH
//	env            NAME  KIND  VALUE
//
// KIND is "literal" (VALUE is the value), "ref:<Parameter>" (the value of that
// parameter: VALUE empty, the caller gives the parameter a test value) or
// "secret" (a RuntimeEnvironmentSecrets entry: VALUE empty).
//
// Parameter values: KeycloakMode is production, KeycloakHostname is empty in
// the first deploy; parameters with AllowedValues take their default; every
// other parameter (KeycloakHostname in the second deploy) is a placeholder,
// so a variable set from it is printed as ref:<Parameter> and a value built
// from it with other text is an error, as is a variable set from a resource.
package main

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/healthlake-smart/smartauth-go/tools/cfncheck"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "kcprodsettings:", err)
		os.Exit(1)
	}
}

func run(args []string, w io.Writer) error {
	if len(args) != 2 || (args[1] != "first" && args[1] != "second") {
		return fmt.Errorf("usage: kcprodsettings TEMPLATE first|second")
	}
	t, err := cfncheck.Load(args[0])
	if err != nil {
		return err
	}
	rows, err := settings(t, args[1] == "second")
	if err != nil {
		return fmt.Errorf("%s: %w", args[0], err)
	}
	for _, row := range rows {
		if strings.ContainsAny(strings.Join(row, ""), "\t\n") {
			return fmt.Errorf("a setting contains a tab or newline: %q", row)
		}
		if _, err := fmt.Fprintln(w, strings.Join(row, "\t")); err != nil {
			return err
		}
	}
	return nil
}

func placeholder(param string) string { return "{{" + param + "}}" }

var (
	placeholderRe = regexp.MustCompile(`\{\{([A-Za-z0-9:]+)\}\}`) // parameters and pseudo parameters
	resourceRe    = regexp.MustCompile(`<[A-Za-z0-9]+(\.[A-Za-z0-9.]+)?>`)
)

// settings evaluates the Keycloak service of t for a production deploy.
func settings(t *cfncheck.Template, second bool) ([][]string, error) {
	params := map[string]string{"KeycloakMode": "production", "KeycloakHostname": ""}
	if second {
		params["KeycloakHostname"] = placeholder("KeycloakHostname")
	}
	for name, p := range t.Parameters {
		if _, set := params[name]; !set && (len(p.AllowedValues) == 0 || p.Default == nil) {
			params[name] = placeholder(name)
		}
	}
	env := cfncheck.Env{Params: params, Pseudo: map[string]string{
		"AWS::StackName": placeholder("AWS::StackName"), "AWS::Region": "us-east-1",
		"AWS::AccountId": "123456789012", "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com",
	}}
	res, ok := t.Resources["Keycloak"]
	if !ok || res.Type != "AWS::AppRunner::Service" {
		return nil, fmt.Errorf("no AWS::AppRunner::Service Keycloak")
	}
	if res.Condition != "" {
		on, err := t.Condition(res.Condition, env)
		if err != nil {
			return nil, err
		}
		if !on {
			return nil, fmt.Errorf("the Keycloak service is not created in production (condition %s)", res.Condition)
		}
	}
	v, err := t.Eval(res.Properties, env)
	if err != nil {
		return nil, err
	}
	props, _ := v.(map[string]any)
	img, _ := cfncheck.Dig(props, "SourceConfiguration", "ImageRepository", "ImageConfiguration").(map[string]any)
	if img == nil {
		return nil, fmt.Errorf("Keycloak has no SourceConfiguration.ImageRepository.ImageConfiguration")
	}
	var rows [][]string
	for _, s := range []struct {
		key  string
		path []string
		from map[string]any
	}{
		{"start_command", []string{"StartCommand"}, img},
		{"port", []string{"Port"}, img},
		{"health_path", []string{"HealthCheckConfiguration", "Path"}, props},
	} {
		val := fmt.Sprint(cfncheck.Dig(s.from, s.path...))
		if val == "" || val == "<nil>" || placeholderRe.MatchString(val) || resourceRe.MatchString(val) {
			return nil, fmt.Errorf("%s of the Keycloak service is not a literal: %q", strings.Join(s.path, "."), val)
		}
		rows = append(rows, []string{s.key, val})
	}
	seen := map[string]bool{}
	for _, block := range []string{"RuntimeEnvironmentVariables", "RuntimeEnvironmentSecrets"} {
		list, ok := img[block].([]any)
		if !ok || len(list) == 0 {
			return nil, fmt.Errorf("no %s in the Keycloak service", block)
		}
		for _, item := range list {
			m, _ := item.(map[string]any)
			name, _ := m["Name"].(string)
			value, isString := m["Value"].(string)
			if name == "" || !isString {
				return nil, fmt.Errorf("%s entry %v is not {Name, Value} strings", block, item)
			}
			if seen[name] {
				return nil, fmt.Errorf("%s is set twice", name)
			}
			seen[name] = true
			kind := "literal"
			switch ref := placeholderRe.FindStringSubmatch(value); {
			case block == "RuntimeEnvironmentSecrets":
				kind, value = "secret", ""
			case ref != nil && ref[0] == value && !strings.Contains(ref[1], "::"):
				kind, value = "ref:"+ref[1], ""
			case ref != nil || resourceRe.MatchString(value):
				return nil, fmt.Errorf("%s is %q: neither a literal nor one parameter", name, value)
			}
			rows = append(rows, []string{"env", name, kind, value})
		}
	}
	return rows, nil
}
