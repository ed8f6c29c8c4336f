// Package cfncheck loads the CloudFormation templates in deploy/cloudformation
// (YAML with the short intrinsic tags) and evaluates their intrinsic
// functions for given parameter values, so that tests can assert how the
// validator Lambda, its alias, the HealthLake service role and the data
// store are wired together. It complements cfn-lint (schemas, cycles) with
// checks on values: which role ARN the validator returns, which endpoints
// the SMART Metadata names, what a second deploy changes.
//
// It is a test tool with its own go.mod; the library does not depend on it.
//
// Why not github.com/awslabs/goformation/v7: measured with v7.14.9 on the
// project's 2-core build machine, its module is 84 MB, a program that only
// calls goformation.Open takes about 4 minutes and 500 MB to compile, and it
// rejects cognito.yaml (json: unknown field "UserPoolTier": its generated
// types lag the CloudFormation schema). It also resolves intrinsics while
// loading, which erases the references this package exists to check. A YAML
// parser plus a small evaluator does the job; cfn-lint, with the current
// schemas, checks the properties.
package cfncheck

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ErrTemplate is wrapped by load and evaluation errors.
var ErrTemplate = errors.New("cfncheck: template")

// Template is a parsed CloudFormation template. Values use the JSON form of
// intrinsics: !Ref x is map{"Ref": "x"}, !GetAtt a.b is
// map{"Fn::GetAtt": ["a", "b"]}, !Sub s is map{"Fn::Sub": s}, and so on.
type Template struct {
	Parameters map[string]Parameter
	Conditions map[string]any
	Resources  map[string]Resource
	Outputs    map[string]any
}

// Parameter is a template parameter.
type Parameter struct {
	Type           string
	Default        any
	Description    string
	MaxLength      int // 0: none
	AllowedPattern string
	AllowedValues  []any
}

// Resource is a template resource.
type Resource struct {
	Type                string
	Condition           string
	DependsOn           []string
	DeletionPolicy      string
	UpdateReplacePolicy string
	Properties          map[string]any
}

// Load parses a template file.
func Load(path string) (*Template, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTemplate, err)
	}
	return Parse(raw)
}

// Parse parses template YAML.
func Parse(raw []byte) (*Template, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTemplate, err)
	}
	if len(doc.Content) != 1 {
		return nil, fmt.Errorf("%w: empty document", ErrTemplate)
	}
	v, err := convert(doc.Content[0])
	if err != nil {
		return nil, err
	}
	top, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: top level is not a mapping", ErrTemplate)
	}
	t := &Template{
		Parameters: map[string]Parameter{},
		Conditions: mapOf(top["Conditions"]),
		Resources:  map[string]Resource{},
		Outputs:    mapOf(top["Outputs"]),
	}
	for name, p := range mapOf(top["Parameters"]) {
		pm := mapOf(p)
		par := Parameter{Default: pm["Default"]}
		par.Type, _ = pm["Type"].(string)
		par.Description, _ = pm["Description"].(string)
		par.MaxLength, _ = pm["MaxLength"].(int)
		par.AllowedPattern, _ = pm["AllowedPattern"].(string)
		par.AllowedValues, _ = pm["AllowedValues"].([]any)
		t.Parameters[name] = par
	}
	for name, r := range mapOf(top["Resources"]) {
		rm := mapOf(r)
		res := Resource{Properties: mapOf(rm["Properties"])}
		res.Type, _ = rm["Type"].(string)
		res.Condition, _ = rm["Condition"].(string)
		res.DeletionPolicy, _ = rm["DeletionPolicy"].(string)
		res.UpdateReplacePolicy, _ = rm["UpdateReplacePolicy"].(string)
		switch d := rm["DependsOn"].(type) {
		case string:
			res.DependsOn = []string{d}
		case []any:
			for _, x := range d {
				s, _ := x.(string)
				res.DependsOn = append(res.DependsOn, s)
			}
		}
		if res.Type == "" {
			return nil, fmt.Errorf("%w: resource %s has no Type", ErrTemplate, name)
		}
		t.Resources[name] = res
	}
	return t, nil
}

func mapOf(v any) map[string]any {
	m, _ := v.(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	return m
}

// shortTags maps the YAML short forms to their JSON intrinsic names.
var shortTags = map[string]string{
	"!Ref": "Ref", "!Condition": "Condition", "!GetAtt": "Fn::GetAtt", "!Sub": "Fn::Sub",
	"!If": "Fn::If", "!Join": "Fn::Join", "!Select": "Fn::Select", "!Split": "Fn::Split",
	"!Equals": "Fn::Equals", "!Not": "Fn::Not", "!And": "Fn::And", "!Or": "Fn::Or",
	"!Base64": "Fn::Base64", "!FindInMap": "Fn::FindInMap", "!GetAZs": "Fn::GetAZs",
	"!ImportValue": "Fn::ImportValue", "!Cidr": "Fn::Cidr",
}

// convert turns a YAML node into plain Go values, rewriting the short
// intrinsic tags into their JSON form.
func convert(n *yaml.Node) (any, error) {
	var v any
	switch n.Kind {
	case yaml.AliasNode:
		return convert(n.Alias)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if _, dup := m[k]; dup {
				return nil, fmt.Errorf("%w: line %d: duplicate key %q", ErrTemplate, n.Content[i].Line, k)
			}
			val, err := convert(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[k] = val
		}
		v = m
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			val, err := convert(c)
			if err != nil {
				return nil, err
			}
			l = append(l, val)
		}
		v = l
	case yaml.ScalarNode:
		if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
			v = n.Value // the argument of a short intrinsic is a string
		} else if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("%w: line %d: %w", ErrTemplate, n.Line, err)
		}
	default:
		return nil, fmt.Errorf("%w: line %d: unexpected YAML node", ErrTemplate, n.Line)
	}
	if !strings.HasPrefix(n.Tag, "!") || strings.HasPrefix(n.Tag, "!!") {
		return v, nil
	}
	fn, ok := shortTags[n.Tag]
	if !ok {
		return nil, fmt.Errorf("%w: line %d: unknown tag %s", ErrTemplate, n.Line, n.Tag)
	}
	if fn == "Fn::GetAtt" {
		if s, ok := v.(string); ok {
			res, attr, found := strings.Cut(s, ".")
			if !found {
				return nil, fmt.Errorf("%w: line %d: !GetAtt %q needs Resource.Attribute", ErrTemplate, n.Line, s)
			}
			v = []any{res, attr}
		}
	}
	return map[string]any{fn: v}, nil
}

// Env supplies what evaluation cannot know: parameter values (missing ones
// take their default), pseudo parameters, the Ref value of each resource
// (physical ID or ARN) and its attributes ("Resource.Attribute").
type Env struct {
	Params map[string]string
	Pseudo map[string]string
	Refs   map[string]string
	Attrs  map[string]string
}

// noValue is what AWS::NoValue evaluates to; maps and lists drop it.
type noValue struct{}

// Eval resolves the intrinsic functions in v. Resources whose Ref or
// attribute is not in env evaluate to "<Name>" and "<Name.Attribute>", so
// that a test sees where an unexpected reference ended up.
func (t *Template) Eval(v any, env Env) (any, error) {
	e := evaluator{t: t, env: env, conds: map[string]bool{}}
	out, err := e.eval(v)
	if _, drop := out.(noValue); drop {
		return nil, err
	}
	return out, err
}

// Condition evaluates the named condition.
func (t *Template) Condition(name string, env Env) (bool, error) {
	e := evaluator{t: t, env: env, conds: map[string]bool{}}
	return e.condition(name)
}

type evaluator struct {
	t     *Template
	env   Env
	conds map[string]bool
	depth int
}

func (e *evaluator) condition(name string) (bool, error) {
	if b, ok := e.conds[name]; ok {
		return b, nil
	}
	def, ok := e.t.Conditions[name]
	if !ok {
		return false, fmt.Errorf("%w: unknown condition %q", ErrTemplate, name)
	}
	e.depth++
	defer func() { e.depth-- }()
	if e.depth > 32 {
		return false, fmt.Errorf("%w: condition %q nests too deeply", ErrTemplate, name)
	}
	v, err := e.eval(def)
	if err != nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("%w: condition %q is not a boolean", ErrTemplate, name)
	}
	e.conds[name] = b
	return b, nil
}

func (e *evaluator) ref(name string) (any, error) {
	if name == "AWS::NoValue" {
		return noValue{}, nil
	}
	if v, ok := e.env.Pseudo[name]; ok {
		return v, nil
	}
	if p, ok := e.t.Parameters[name]; ok {
		val, set := e.env.Params[name]
		if !set {
			if p.Default == nil {
				return nil, fmt.Errorf("%w: parameter %s has no value and no default", ErrTemplate, name)
			}
			val = fmt.Sprint(p.Default)
		}
		if strings.HasPrefix(p.Type, "CommaDelimitedList") || strings.HasPrefix(p.Type, "List<") {
			var l []any
			for _, s := range strings.Split(val, ",") {
				l = append(l, s)
			}
			return l, nil
		}
		return val, nil
	}
	if _, ok := e.t.Resources[name]; ok {
		if v, ok := e.env.Refs[name]; ok {
			return v, nil
		}
		return "<" + name + ">", nil
	}
	return nil, fmt.Errorf("%w: Ref to unknown name %q", ErrTemplate, name)
}

func (e *evaluator) getAtt(res, attr string) (any, error) {
	if _, ok := e.t.Resources[res]; !ok {
		return nil, fmt.Errorf("%w: GetAtt of unknown resource %q", ErrTemplate, res)
	}
	if v, ok := e.env.Attrs[res+"."+attr]; ok {
		return v, nil
	}
	return "<" + res + "." + attr + ">", nil
}

var subVar = regexp.MustCompile(`\$\{([^}]*)\}`)

func (e *evaluator) sub(format string, vars map[string]any) (string, error) {
	var firstErr error
	out := subVar.ReplaceAllStringFunc(format, func(m string) string {
		name := m[2 : len(m)-1]
		if strings.HasPrefix(name, "!") {
			return "${" + name[1:] + "}"
		}
		var v any
		var err error
		if x, ok := vars[name]; ok {
			v, err = e.eval(x)
		} else if res, attr, dotted := strings.Cut(name, "."); dotted {
			v, err = e.getAtt(res, attr)
		} else {
			v, err = e.ref(name)
		}
		if err == nil {
			if s, ok := v.(string); ok {
				return s
			}
			err = fmt.Errorf("%w: Fn::Sub variable %s is not a string", ErrTemplate, name)
		}
		if firstErr == nil {
			firstErr = err
		}
		return ""
	})
	return out, firstErr
}

func (e *evaluator) eval(v any) (any, error) {
	switch x := v.(type) {
	case []any:
		out := make([]any, 0, len(x))
		for _, item := range x {
			r, err := e.eval(item)
			if err != nil {
				return nil, err
			}
			if _, drop := r.(noValue); !drop {
				out = append(out, r)
			}
		}
		return out, nil
	case map[string]any:
		if len(x) == 1 {
			for k, arg := range x {
				if k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::") {
					return e.intrinsic(k, arg)
				}
			}
		}
		out := make(map[string]any, len(x))
		for k, item := range x {
			r, err := e.eval(item)
			if err != nil {
				return nil, err
			}
			if _, drop := r.(noValue); !drop {
				out[k] = r
			}
		}
		return out, nil
	default:
		return v, nil
	}
}

func (e *evaluator) args(fn string, arg any, n int) ([]any, error) {
	l, ok := arg.([]any)
	if !ok || len(l) != n {
		return nil, fmt.Errorf("%w: %s wants %d arguments", ErrTemplate, fn, n)
	}
	return l, nil
}

func (e *evaluator) boolArg(v any) (bool, error) {
	r, err := e.eval(v)
	if err != nil {
		return false, err
	}
	b, ok := r.(bool)
	if !ok {
		return false, fmt.Errorf("%w: %v is not a boolean", ErrTemplate, r)
	}
	return b, nil
}

func (e *evaluator) intrinsic(fn string, arg any) (any, error) {
	switch fn {
	case "Ref":
		name, ok := arg.(string)
		if !ok {
			return nil, fmt.Errorf("%w: Ref wants a name", ErrTemplate)
		}
		return e.ref(name)
	case "Condition":
		name, ok := arg.(string)
		if !ok {
			return nil, fmt.Errorf("%w: Condition wants a name", ErrTemplate)
		}
		return e.condition(name)
	case "Fn::GetAtt":
		l, err := e.args(fn, arg, 2)
		if err != nil {
			return nil, err
		}
		res, _ := l[0].(string)
		attr, _ := l[1].(string)
		return e.getAtt(res, attr)
	case "Fn::Sub":
		switch a := arg.(type) {
		case string:
			return e.sub(a, nil)
		case []any:
			if len(a) == 2 {
				format, ok1 := a[0].(string)
				vars, ok2 := a[1].(map[string]any)
				if ok1 && ok2 {
					return e.sub(format, vars)
				}
			}
		}
		return nil, fmt.Errorf("%w: Fn::Sub wants a string or [string, map]", ErrTemplate)
	case "Fn::If":
		l, err := e.args(fn, arg, 3)
		if err != nil {
			return nil, err
		}
		name, _ := l[0].(string)
		b, err := e.condition(name)
		if err != nil {
			return nil, err
		}
		if b {
			return e.eval(l[1])
		}
		return e.eval(l[2])
	case "Fn::Join":
		l, err := e.args(fn, arg, 2)
		if err != nil {
			return nil, err
		}
		sep, _ := l[0].(string)
		items, err := e.eval(l[1])
		if err != nil {
			return nil, err
		}
		list, ok := items.([]any)
		if !ok {
			return nil, fmt.Errorf("%w: Fn::Join wants a list", ErrTemplate)
		}
		parts := make([]string, 0, len(list))
		for _, p := range list {
			s, ok := p.(string)
			if !ok {
				return nil, fmt.Errorf("%w: Fn::Join item %v is not a string", ErrTemplate, p)
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, sep), nil
	case "Fn::Split":
		l, err := e.args(fn, arg, 2)
		if err != nil {
			return nil, err
		}
		sep, _ := l[0].(string)
		r, err := e.eval(l[1])
		if err != nil {
			return nil, err
		}
		s, ok := r.(string)
		if !ok {
			return nil, fmt.Errorf("%w: Fn::Split wants a string", ErrTemplate)
		}
		var out []any
		for _, p := range strings.Split(s, sep) {
			out = append(out, p)
		}
		return out, nil
	case "Fn::Select":
		l, err := e.args(fn, arg, 2)
		if err != nil {
			return nil, err
		}
		idx, err := e.eval(l[0])
		if err != nil {
			return nil, err
		}
		i, ok := idx.(int)
		if s, isStr := idx.(string); isStr {
			_, err := fmt.Sscan(s, &i)
			ok = err == nil
		}
		list, err := e.eval(l[1])
		if err != nil {
			return nil, err
		}
		items, isList := list.([]any)
		if !ok || !isList || i < 0 || i >= len(items) {
			return nil, fmt.Errorf("%w: Fn::Select index out of range", ErrTemplate)
		}
		return items[i], nil
	case "Fn::Equals":
		l, err := e.args(fn, arg, 2)
		if err != nil {
			return nil, err
		}
		a, err := e.eval(l[0])
		if err != nil {
			return nil, err
		}
		b, err := e.eval(l[1])
		if err != nil {
			return nil, err
		}
		return fmt.Sprint(a) == fmt.Sprint(b), nil
	case "Fn::Not":
		l, err := e.args(fn, arg, 1)
		if err != nil {
			return nil, err
		}
		b, err := e.boolArg(l[0])
		return !b, err
	case "Fn::And", "Fn::Or":
		l, ok := arg.([]any)
		if !ok || len(l) < 2 {
			return nil, fmt.Errorf("%w: %s wants at least 2 conditions", ErrTemplate, fn)
		}
		and := fn == "Fn::And"
		result := and
		for _, c := range l {
			b, err := e.boolArg(c)
			if err != nil {
				return nil, err
			}
			if and {
				result = result && b
			} else {
				result = result || b
			}
		}
		return result, nil
	}
	return nil, fmt.Errorf("%w: %s is not supported", ErrTemplate, fn)
}

// References returns the sorted, de-duplicated names v refers to: Ref
// targets, GetAtt resources, Fn::Sub variables that are not local, and the
// conditions of Fn::If and Condition. With t non-nil, a condition's own
// references are included, recursively (a property that depends on a
// condition depends on whatever the condition reads).
func (t *Template) References(v any) []string {
	seen := map[string]bool{}
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case []any:
			for _, item := range x {
				walk(item)
			}
		case map[string]any:
			for k, arg := range x {
				switch k {
				case "Ref":
					if s, ok := arg.(string); ok {
						seen[s] = true
					}
					continue
				case "Condition":
					if s, ok := arg.(string); ok {
						t.addCondition(s, seen, walk)
					}
					continue
				case "Fn::GetAtt":
					if l, ok := arg.([]any); ok && len(l) > 0 {
						if s, ok := l[0].(string); ok {
							seen[s] = true
						}
					}
					continue
				case "Fn::If":
					if l, ok := arg.([]any); ok && len(l) == 3 {
						if s, ok := l[0].(string); ok {
							t.addCondition(s, seen, walk)
						}
						walk(l[1])
						walk(l[2])
					}
					continue
				case "Fn::Sub":
					format, vars := arg, map[string]any{}
					if l, ok := arg.([]any); ok && len(l) == 2 {
						format = l[0]
						vars, _ = l[1].(map[string]any)
						walk(l[1])
					}
					if s, ok := format.(string); ok {
						for _, m := range subVar.FindAllStringSubmatch(s, -1) {
							name := m[1]
							if strings.HasPrefix(name, "!") {
								continue
							}
							if _, local := vars[name]; local {
								continue
							}
							res, _, _ := strings.Cut(name, ".")
							seen[res] = true
						}
					}
					continue
				}
				walk(arg)
			}
		}
	}
	walk(v)
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (t *Template) addCondition(name string, seen map[string]bool, walk func(any)) {
	key := "Condition:" + name
	if seen[key] {
		return
	}
	seen[key] = true
	if t != nil {
		walk(t.Conditions[name])
	}
}

// Dig returns v[k0][k1]... of decoded (or evaluated) template values, nil
// when a step is missing or not an object.
func Dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}
