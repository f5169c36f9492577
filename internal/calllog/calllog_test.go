package calllog

import (
	"context"
	"log/slog"
	"sync"
	"testing"
)

func TestHandWithoutSlotIsRefused(t *testing.T) {
	if Hand(context.Background(), Outcome{Outcome: "ok"}) {
		t.Fatal("Hand without a Slot reported taken: the call's line would be lost")
	}
}

func TestHandThenTake(t *testing.T) {
	var s Slot
	ctx := With(context.Background(), &s)
	want := Outcome{Level: slog.LevelWarn, Outcome: "rate limited", QCCStatus: 202}
	if !Hand(ctx, want) {
		t.Fatal("Hand refused by an open Slot")
	}
	if Hand(ctx, Outcome{Outcome: "ok"}) {
		t.Error("a second Hand was taken: one request's line names one call")
	}
	got, ok := s.Take()
	if !ok || got != want {
		t.Fatalf("Take = %+v, %v; want %+v, true", got, ok, want)
	}
}

func TestHandAfterTakeIsRefused(t *testing.T) {
	var s Slot
	ctx := With(context.Background(), &s)
	if _, ok := s.Take(); ok {
		t.Fatal("Take of an empty Slot reported an outcome")
	}
	if Hand(ctx, Outcome{Outcome: "ok"}) {
		t.Fatal("Hand after Take was taken: nobody would write the call's line")
	}
}

// TestHandRacesTake: whichever comes first, the outcome is either taken
// by the transport or refused back to the tools, never both, never lost.
func TestHandRacesTake(t *testing.T) {
	for range 200 {
		var s Slot
		ctx := With(context.Background(), &s)
		var handed bool
		var wg sync.WaitGroup
		wg.Go(func() { handed = Hand(ctx, Outcome{Outcome: "ok"}) })
		_, taken := s.Take()
		wg.Wait()
		if taken && !handed {
			t.Fatal("Take returned an outcome that Hand reports refused")
		}
		if !taken && handed {
			t.Fatal("Hand reports taken, but Take closed the Slot without it: the line is lost")
		}
	}
}
