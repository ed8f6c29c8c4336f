//go:build !race

package smartauth

// raceEnabled reports the race detector; see race_internal_race_test.go.
const raceEnabled = false
