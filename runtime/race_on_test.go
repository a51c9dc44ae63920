//go:build race

package runtime_test

// raceEnabled: the race detector multiplies memory and time, so the abuse
// tests assert their RSS and time figures only without it (.ci/run runs
// them both ways).
const raceEnabled = true
