//go:build race

package smartauth

// raceEnabled reports the race detector; the allocation checks skip under it
// (testing.AllocsPerRun counts the allocations of every goroutine, and the
// race runtime's leftover goroutines make the counts flaky).
const raceEnabled = true
