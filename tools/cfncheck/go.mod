module github.com/healthlake-smart/smartauth-go/tools/cfncheck

go 1.26

require (
	github.com/stretchr/testify v1.12.1
	go.yaml.in/yaml/v3 v3.0.5
)
