//go:build update_golden

package metadata

// updateGolden rewrites testdata/*.golden.json: go test -tags update_golden ./internal/metadata/
const updateGolden = true
