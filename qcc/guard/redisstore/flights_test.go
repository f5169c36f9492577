package redisstore

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qcc-mcp/qcc-mcp/internal/testkit/redistest"
)

// TestFlightsOneLeader: 30 concurrent callers on 3 replicas → one leads,
// the others wake on its release, long before the lock would expire.
func TestFlightsOneLeader(t *testing.T) {
	srv := redistest.Start(t)
	rs := replicas(t, srv, 3)
	ctx := context.Background()
	const n = 30
	raw, channel := rawClient(t, srv), rs[0].flightChannel("search|x")
	// followersWaiting reports whether every other caller is subscribed to
	// the release, that is, waiting in Await.
	followersWaiting := func() bool {
		subs, err := raw.PubSubNumSub(ctx, channel).Result()
		return err == nil && subs[channel] == n-1
	}
	var led atomic.Int32
	releaseAt := make(chan time.Time, 1)
	var latest atomic.Int64
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := rs[i%3]
			release, ok, err := s.Lead(ctx, "search|x", 10*time.Second)
			if err != nil {
				t.Error(err)
				return
			}
			if ok {
				led.Add(1)
				for deadline := time.Now().Add(10 * time.Second); !followersWaiting(); time.Sleep(5 * time.Millisecond) {
					if time.Now().After(deadline) {
						t.Errorf("not all %d followers wait in Await for the release", n-1)
						break
					}
				}
				releaseAt <- time.Now()
				release()
				release() // twice is harmless
				return
			}
			if err := s.Await(ctx, "search|x"); err != nil {
				t.Error(err)
			}
			latest.Store(max(latest.Load(), time.Now().UnixNano()))
		}()
	}
	wg.Wait()
	if led.Load() != 1 {
		t.Fatalf("%d leaders, want 1", led.Load())
	}
	rel := <-releaseAt
	if late := time.Unix(0, latest.Load()).Sub(rel); late > time.Second {
		t.Fatalf("the last follower woke %s after the release", late)
	}
	// Released: the next caller leads at once.
	release, ok, err := rs[0].Lead(ctx, "search|x", time.Second)
	if !ok || err != nil {
		t.Fatalf("after release: led=%v err=%v", ok, err)
	}
	release()
	// No lead held: Await returns at once.
	t0 := time.Now()
	if err := rs[1].Await(ctx, "nobody"); err != nil || time.Since(t0) > 200*time.Millisecond {
		t.Fatalf("Await without a lead: %v after %s", err, time.Since(t0))
	}
}

// TestFlightsLeaderDies: a leader that never releases costs its followers
// the lock's expiry, then one of them leads; the dead leader's late release
// does not end the new lead.
func TestFlightsLeaderDies(t *testing.T) {
	srv := redistest.Start(t)
	rs := replicas(t, srv, 2)
	ctx := context.Background()
	deadRelease, ok, err := rs[0].Lead(ctx, "k", 400*time.Millisecond)
	if !ok || err != nil {
		t.Fatal(ok, err)
	}
	if _, ok, _ := rs[1].Lead(ctx, "k", time.Second); ok {
		t.Fatal("a second leader while the lock is held")
	}
	t0 := time.Now()
	if err := rs[1].Await(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(t0); el < 300*time.Millisecond || el > 1200*time.Millisecond {
		t.Fatalf("Await on a dead leader returned after %s, want about the lock's 400ms", el)
	}
	release, ok, err := rs[1].Lead(ctx, "k", 5*time.Second)
	if !ok || err != nil {
		t.Fatalf("follower could not take over: %v %v", ok, err)
	}
	deadRelease() // too late: the lock is no longer its own
	if _, ok, _ := rs[0].Lead(ctx, "k", time.Second); ok {
		t.Fatal("a stale release ended the new leader's lock")
	}
	release()
	if _, _, err := rs[0].Lead(ctx, "k", 0); err == nil {
		t.Fatal("a lock without expiry was accepted")
	}
	// Await ends with its context.
	_, _, _ = rs[0].Lead(ctx, "held", 10*time.Second)
	cctx, cancel := context.WithCancel(ctx)
	time.AfterFunc(100*time.Millisecond, cancel)
	t0 = time.Now()
	if err := rs[1].Await(cctx, "held"); err != context.Canceled || time.Since(t0) > time.Second {
		t.Fatalf("Await after cancel: %v after %s", err, time.Since(t0))
	}
}
