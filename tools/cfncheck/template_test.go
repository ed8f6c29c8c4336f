package cfncheck

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const sample = `
Parameters:
  Name: { Type: String, Default: world }
  Empty: { Type: String, Default: '' }
  Subnets: { Type: CommaDelimitedList, Default: 'a,b' }
Conditions:
  HasEmpty: !Not [!Equals [!Ref Empty, '']]
  Both: !And [!Condition HasEmpty, !Equals [!Ref Name, world]]
Resources:
  Fn:
    Type: AWS::Lambda::Function
    DependsOn: Other
    Properties:
      A: !Sub 'hello ${Name} ${AWS::Region} ${Fn.Arn} ${!Literal}'
      B: !Sub ['${X}-${Y}', { X: !Ref Name, Y: !GetAtt Other.Id }]
      C: !If [HasEmpty, yes, !Ref AWS::NoValue]
      D: [!If [Both, one, !Ref AWS::NoValue], two]
      E: !Join [',', !Ref Subnets]
      F: !Select [1, !Split ['/', 'x/y/z']]
      G: 3
  Other:
    Type: AWS::X::Y
`

func TestEval(t *testing.T) {
	tmpl, err := Parse([]byte(sample))
	require.NoError(t, err)
	require.Equal(t, []string{"Other"}, tmpl.Resources["Fn"].DependsOn)
	env := Env{
		Pseudo: map[string]string{"AWS::Region": "eu-west-1"},
		Attrs:  map[string]string{"Fn.Arn": "arn:fn"},
	}
	tests := []struct {
		name   string
		params map[string]string
		prop   string
		want   any
	}{
		{"sub with pseudo, attribute and literal", nil, "A", "hello world eu-west-1 arn:fn ${Literal}"},
		{"sub with a variable map; unknown attribute shows its name", nil, "B", "world-<Other.Id>"},
		{"if false drops the property", nil, "C", nil},
		{"if true keeps it", map[string]string{"Empty": "x"}, "C", "yes"},
		{"NoValue in a list is dropped", nil, "D", []any{"two"}},
		{"and of conditions", map[string]string{"Empty": "x"}, "D", []any{"one", "two"}},
		{"join of a list parameter", map[string]string{"Subnets": "s1,s2,s3"}, "E", "s1,s2,s3"},
		{"select of split", nil, "F", "y"},
		{"plain values stay typed", nil, "G", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env.Params = tt.params
			got, err := tmpl.Eval(tmpl.Resources["Fn"].Properties[tt.prop], env)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestReferences(t *testing.T) {
	tmpl, err := Parse([]byte(sample))
	require.NoError(t, err)
	p := tmpl.Resources["Fn"].Properties
	assert.Equal(t, []string{"AWS::Region", "Fn", "Name"}, tmpl.References(p["A"]))
	assert.Equal(t, []string{"Name", "Other"}, tmpl.References(p["B"]), "local Sub variables are not references")
	assert.Equal(t, []string{"AWS::NoValue", "Condition:Both", "Condition:HasEmpty", "Empty", "Name"},
		tmpl.References(p["D"]), "a condition's own references count, recursively")
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ name, yaml string }{
		{"unknown tag", "Resources:\n  A:\n    Type: T\n    Properties: { X: !Nope y }\n"},
		{"GetAtt without attribute", "Resources:\n  A:\n    Type: T\n    Properties: { X: !GetAtt B }\n"},
		{"duplicate key", "Resources:\n  A:\n    Type: T\n  A:\n    Type: T\n"},
		{"resource without type", "Resources:\n  A:\n    Properties: {}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			require.ErrorIs(t, err, ErrTemplate)
		})
	}
	tmpl, err := Parse([]byte(sample))
	require.NoError(t, err)
	_, err = tmpl.Eval(map[string]any{"Ref": "Missing"}, Env{})
	require.ErrorIs(t, err, ErrTemplate, "a reference to an unknown name is an error, not a silent empty string")
}
