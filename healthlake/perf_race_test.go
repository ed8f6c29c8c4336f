//go:build race

package healthlake_test

const raceEnabled = true
