//go:build race

package smartauth_test

const raceEnabled = true
