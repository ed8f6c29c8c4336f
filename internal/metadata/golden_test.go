//go:build !update_golden

package metadata

// updateGolden is true only with -tags update_golden (golden_update_test.go).
const updateGolden = false
