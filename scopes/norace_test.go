//go:build !race

package scopes

const raceEnabled = false
