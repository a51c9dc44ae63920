//go:build !unix

package storetest_test

import "time"

// cpuTime is 0 where getrusage is missing: no cpu-ns/op figure.
func cpuTime() time.Duration { return 0 }
