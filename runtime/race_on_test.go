//go:build race

package runtime_test

// raceEnabled: the race detector multiplies memory, so RSS figures are
// asserted only without it (.ci/run runs the abuse tests both ways).
const raceEnabled = true
