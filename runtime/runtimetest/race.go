package runtimetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/oauthgen/oauthgen/runtime"
)

const (
	// consumers is how many goroutines race for one single-use record.
	consumers = 32
	// raceRecords is how many records are raced for at the same time.
	raceRecords = 4
)

// raceTime is the time consumer i passes: distinct at microsecond
// precision, so the record shows whose write won.
func raceTime(i int) time.Time {
	return at(time.Hour + time.Duration(i+1)*time.Millisecond)
}

// raceSingleUse runs use(key, i) from consumers goroutines per key, all
// released at once, and checks that exactly one call per key returns nil
// and every other runtime.ErrConsumed. It returns each key's winning i
// (-1 when there was none).
func raceSingleUse(t *testing.T, keys []string, use func(key string, i int) error) map[string]int {
	t.Helper()
	errs := make([][]error, len(keys))
	start := make(chan struct{})
	var ready, done sync.WaitGroup
	for k, key := range keys {
		errs[k] = make([]error, consumers)
		for i := range consumers {
			ready.Add(1)
			done.Go(func() {
				ready.Done()
				<-start
				errs[k][i] = use(key, i)
			})
		}
	}
	// Release them together, once all are parked at the barrier.
	ready.Wait()
	close(start)
	done.Wait()

	winners := make(map[string]int, len(keys))
	for k, key := range keys {
		winners[key] = -1
		var nils, others int
		for i, err := range errs[k] {
			switch {
			case err == nil:
				nils++
				winners[key] = i
			case errors.Is(err, runtime.ErrConsumed):
			default:
				others++
				if others <= 3 {
					t.Errorf("record %d, consumer %d: error = %v, want nil or %v", k, i, err, runtime.ErrConsumed)
				}
			}
		}
		if nils != 1 {
			t.Errorf("record %d: %d of %d concurrent consumers got nil, want exactly 1", k, nils, consumers)
		}
		if others > 3 {
			t.Errorf("record %d: %d more consumers got errors other than %v", k, others-3, runtime.ErrConsumed)
		}
	}
	return winners
}

// winnerTime is the time the winner of a race passed (zero when none won).
func winnerTime(i int) time.Time {
	if i < 0 {
		return time.Time{}
	}
	return raceTime(i)
}
