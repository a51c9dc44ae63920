package runtime

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
)

// blockingCounter answers ChangeCount with the count as it was when the
// call began, after the test releases the call.
type blockingCounter struct {
	count   atomic.Uint64
	calls   atomic.Int32
	began   chan struct{}
	release chan struct{}
}

func (b *blockingCounter) ChangeCount(ctx context.Context) (uint64, bool, error) {
	n := b.count.Load()
	b.calls.Add(1)
	b.began <- struct{}{}
	<-b.release
	return n, true, nil
}

// TestChangeCountReadsShared: requests arriving while a ChangeCount runs
// share the next one, which begins after they arrived: they see a change
// made before they arrived (not the running read's older count), and
// three of them cost one read.
func TestChangeCountReadsShared(t *testing.T) {
	b := &blockingCounter{began: make(chan struct{}), release: make(chan struct{})}
	b.count.Store(1)
	c := &changeCache{counter: b}
	joined := make(chan struct{}, 8)
	testHookCountJoined = func() { joined <- struct{}{} }
	t.Cleanup(func() { testHookCountJoined = func() {} })

	first := make(chan uint64, 1)
	go func() { n, _ := c.read(context.Background()); first <- n }()
	<-b.began // the first read has taken count 1 and is blocked

	b.count.Store(2) // a change, made before the next requests arrive
	var wg sync.WaitGroup
	later := make(chan uint64, 3)
	for range 3 {
		wg.Go(func() {
			n, ok := c.read(context.Background())
			if !ok {
				t.Error("ok false")
			}
			later <- n
		})
		select {
		case <-joined:
		case <-b.began:
			t.Fatal("a request read alone while a read was running")
		}
	}
	b.release <- struct{}{} // the first read ends
	if n := <-first; n != 1 {
		t.Errorf("first request: count %d, want 1", n)
	}
	select {
	case <-b.began: // one read for the three
	case n := <-later:
		t.Fatalf("a later request answered %d before a read begun after it arrived", n)
	}
	b.release <- struct{}{}
	wg.Wait()
	close(later)
	for n := range later {
		if n != 2 {
			t.Errorf("a later request saw count %d, from a read begun before it arrived; want 2", n)
		}
	}
	if calls := b.calls.Load(); calls != 2 {
		t.Errorf("%d ChangeCount calls for 4 requests, want 2", calls)
	}

	// Nothing running: a request reads at once.
	go func() { <-b.began; b.release <- struct{}{} }()
	b.count.Store(3)
	if n, _ := c.read(context.Background()); n != 3 {
		t.Errorf("idle read: %d, want 3", n)
	}
}
