package exec

import (
	"context"
	"reflect"
	"time"
)

// inputTracker combines the watermarks, statuses and ends of a task's input
// channels into per-input events, as Flink's StatusWatermarkValve:
//
//   - An input's watermark is the minimum over its channels that are open,
//     active and aligned, delivered only when it advances. Idle channels are
//     left out. An ended channel is left out too rather than counting as
//     MaxWatermark: conservatively, an input whose remaining channels are
//     idle does not jump to MaxWatermark before its last channel ended.
//   - A channel that becomes active again rejoins the minimum only once its
//     watermark caught up with the input's (it is "aligned"), so that
//     re-activation never moves the input's watermark backwards.
//   - An input is idle when every channel that has not ended is idle. When
//     its last channel goes idle, the input's watermark first advances to
//     the maximum over its open channels (progress made before going idle
//     is not lost), then the input reports idle.
//   - An input ends when all its channels have ended; its watermark is then
//     MaxWatermark.
//
// Watermarks received on an idle channel are recorded (they count once it
// is active and aligned again) but do not hold the input back; while the
// whole input is idle they advance it, so progress reported by idle
// channels is not lost.
type inputTracker struct {
	chanInput []int       // input of each channel
	chanWM    []Watermark // last watermark of each channel
	chanIdle  []bool      // channel is idle
	chanAlign []bool      // channel takes part in its input's minimum
	chanEnded []bool
	inputWM   []Watermark // last watermark delivered per input
	inputIdle []bool      // last status delivered per input
	open      []int       // channels not yet ended, per input
}

func newInputTracker(chanInput []int, inputs int) *inputTracker {
	n := len(chanInput)
	t := &inputTracker{
		chanInput: chanInput,
		chanWM:    make([]Watermark, n),
		chanIdle:  make([]bool, n),
		chanAlign: make([]bool, n),
		chanEnded: make([]bool, n),
		inputWM:   make([]Watermark, inputs),
		inputIdle: make([]bool, inputs),
		open:      make([]int, inputs),
	}
	for c, in := range chanInput {
		t.chanWM[c] = MinWatermark
		t.chanAlign[c] = true
		t.open[in]++
	}
	for i := range t.inputWM {
		t.inputWM[i] = MinWatermark
	}
	return t
}

// watermark records wm on channel c and returns the input's new watermark
// if it advanced.
func (t *inputTracker) watermark(c int, wm Watermark) (input int, advanced Watermark, ok bool) {
	input = t.chanInput[c]
	if t.chanEnded[c] || wm <= t.chanWM[c] {
		return input, 0, false
	}
	t.chanWM[c] = wm
	if t.chanIdle[c] {
		if t.allIdle(input) && wm > t.inputWM[input] {
			t.inputWM[input] = wm
			return input, wm, true
		}
		return input, 0, false
	}
	if !t.chanAlign[c] && wm >= t.inputWM[input] {
		t.chanAlign[c] = true
	}
	return t.advance(input)
}

// advance recomputes the minimum of input over its open, active, aligned
// channels and returns it if it advanced.
func (t *inputTracker) advance(input int) (int, Watermark, bool) {
	min, any := MaxWatermark, false
	for ch, in := range t.chanInput {
		if in == input && !t.chanEnded[ch] && !t.chanIdle[ch] && t.chanAlign[ch] {
			any = true
			if t.chanWM[ch] < min {
				min = t.chanWM[ch]
			}
		}
	}
	if !any || min <= t.inputWM[input] {
		return input, 0, false
	}
	t.inputWM[input] = min
	return input, min, true
}

// flush advances input to the maximum over its open channels, when the
// input goes idle: the progress its channels made before going quiet is
// not lost.
func (t *inputTracker) flush(input int) (Watermark, bool) {
	max := MinWatermark
	for ch, in := range t.chanInput {
		if in == input && !t.chanEnded[ch] && t.chanWM[ch] > max {
			max = t.chanWM[ch]
		}
	}
	if max <= t.inputWM[input] {
		return 0, false
	}
	t.inputWM[input] = max
	return max, true
}

// status records channel c going idle or active. It returns the input's
// new watermark if that advanced (delivered first), and the input's new
// status if it changed.
func (t *inputTracker) status(c int, idle bool) (input int, wm Watermark, advanced, changed, inputIdle bool) {
	input = t.chanInput[c]
	if t.chanEnded[c] || t.chanIdle[c] == idle {
		return input, 0, false, false, t.inputIdle[input]
	}
	t.chanIdle[c] = idle
	if idle {
		if t.allIdle(input) {
			wm, advanced = t.flush(input)
		} else {
			_, wm, advanced = t.advance(input)
		}
	} else {
		t.chanAlign[c] = t.chanWM[c] >= t.inputWM[input]
	}
	now := t.allIdle(input)
	changed = now != t.inputIdle[input]
	t.inputIdle[input] = now
	return input, wm, advanced, changed, now
}

// allIdle reports whether every open channel of input is idle (and at
// least one is open).
func (t *inputTracker) allIdle(input int) bool {
	any := false
	for ch, in := range t.chanInput {
		if in == input && !t.chanEnded[ch] {
			if !t.chanIdle[ch] {
				return false
			}
			any = true
		}
	}
	return any
}

// idle reports whether every input is idle: the task's status.
func (t *inputTracker) idle() bool {
	for _, idle := range t.inputIdle {
		if !idle {
			return false
		}
	}
	return len(t.inputIdle) > 0
}

// end records the end of channel c, which leaves its input's minimum: it
// returns the input's new watermark if that advanced (MaxWatermark once
// the last channel ended), whether c was the input's last open channel,
// and whether the input's status changed (an ended channel is not idle:
// the input is idle only if its remaining open channels are; an input
// without open channels is active).
func (t *inputTracker) end(c int) (input int, wm Watermark, advanced, ended, statusChanged bool) {
	input = t.chanInput[c]
	if t.chanEnded[c] {
		return input, 0, false, false, false
	}
	wasIdle := t.chanIdle[c]
	t.chanIdle[c], t.chanEnded[c] = false, true
	t.open[input]--
	switch {
	case t.open[input] == 0:
		if t.inputWM[input] < MaxWatermark {
			t.inputWM[input], wm, advanced = MaxWatermark, MaxWatermark, true
		}
	case t.allIdle(input):
		if !wasIdle {
			wm, advanced = t.flush(input)
		}
	default:
		_, wm, advanced = t.advance(input)
	}
	now := t.allIdle(input)
	statusChanged = now != t.inputIdle[input]
	t.inputIdle[input] = now
	return input, wm, advanced, t.open[input] == 0, statusChanged
}

// inputGate reads the elements of a task's input channels, whichever is
// ready first. Channels that ended are no longer read. When the task runs
// processing-time operators, a ticker wakes it while no input arrives.
type inputGate struct {
	chans []<-chan Element
	// cases[0] is ctx.Done(), cases[1] the ticker, cases[2] the wake-up
	// channel; the channels follow (gateFixedCases).
	cases  []reflect.SelectCase
	caseCh []int // channel index of cases[gateFixedCases:]
	tick   <-chan time.Time
	wake   <-chan struct{}
	// held is the input whose channels are not read for now (see hold),
	// or -1; chanInput maps channels to inputs for it.
	held      int
	chanInput []int
	// blocked marks the channels that delivered the barrier of the
	// checkpoint being aligned: they are not read until it is taken.
	blocked  []bool
	nblocked int
}

// tickChannel is the channel index next returns when the ticker fired;
// wakeChannel when the wake-up channel (see setWake) fired.
const (
	tickChannel = -1
	wakeChannel = -2
)

// gateFixedCases is the number of select cases before the channels'.
const gateFixedCases = 3

func newInputGate(ctx context.Context, chans []<-chan Element, tick <-chan time.Time) *inputGate {
	g := &inputGate{chans: chans, tick: tick, held: -1, blocked: make([]bool, len(chans))}
	g.cases = append(g.cases,
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())},
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(tick)},
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(g.wake)})
	for i, ch := range chans {
		g.cases = append(g.cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ch)})
		g.caseCh = append(g.caseCh, i)
	}
	return g
}

// setWake makes next return wakeChannel when wake fires (a task's
// checkpoint-complete notifications).
func (g *inputGate) setWake(wake <-chan struct{}) {
	g.wake = wake
	g.cases[2].Chan = reflect.ValueOf(wake)
}

// active is the number of channels still read (blocked ones included).
func (g *inputGate) active() int { return len(g.caseCh) }

// next returns the next element and its channel, tickChannel when the
// ticker fired, or ctx.Err(). A single remaining channel is read without
// reflection, the common case of a forward edge. A nil ticker never fires.
func (g *inputGate) next(ctx context.Context) (int, Element, error) {
	if len(g.caseCh) == 1 && g.held < 0 && g.nblocked == 0 {
		select {
		case e := <-g.chans[g.caseCh[0]]:
			return g.caseCh[0], e, nil
		case <-g.tick:
			return tickChannel, Element{}, nil
		case <-g.wake:
			return wakeChannel, Element{}, nil
		case <-ctx.Done():
			return 0, Element{}, ctx.Err()
		}
	}
	chosen, v, _ := reflect.Select(g.cases)
	switch chosen {
	case 0:
		return 0, Element{}, ctx.Err()
	case 1:
		return tickChannel, Element{}, nil
	case 2:
		return wakeChannel, Element{}, nil
	}
	return g.caseCh[chosen-gateFixedCases], v.Interface().(Element), nil
}

// hold stops reading the channels of input (chanInput maps channels to
// inputs) until another call holds a different input or none (-1). A
// held channel's case keeps its place with a zero Chan, which
// reflect.Select ignores. The caller must leave some other channel
// readable: a gate whose every channel is held waits for the context or
// the ticker only.
func (g *inputGate) hold(input int, chanInput []int) {
	if input == g.held {
		return
	}
	g.held, g.chanInput = input, chanInput
	g.refresh()
}

// refresh sets the select case of every channel: none for a channel that
// is held or blocked.
func (g *inputGate) refresh() {
	for i, c := range g.caseCh {
		ch := reflect.ValueOf(g.chans[c])
		if g.blocked[c] || (g.held >= 0 && g.chanInput[c] == g.held) {
			ch = reflect.Value{}
		}
		g.cases[i+gateFixedCases].Chan = ch
	}
}

// block stops reading channel c until unblockAll: it delivered the
// barrier of the checkpoint being aligned.
func (g *inputGate) block(c int) {
	if !g.blocked[c] {
		g.blocked[c] = true
		g.nblocked++
		g.refresh()
	}
}

// unblockAll reads the blocked channels again.
func (g *inputGate) unblockAll() {
	if g.nblocked == 0 {
		return
	}
	clear(g.blocked)
	g.nblocked = 0
	g.refresh()
}

// aligned reports whether some channel is blocked and every channel still
// read is: the barrier being aligned arrived on all channels that have
// not ended.
func (g *inputGate) aligned() bool {
	return g.nblocked > 0 && g.nblocked == len(g.caseCh)
}

// remove stops reading channel c after its end.
func (g *inputGate) remove(c int) {
	for i, ch := range g.caseCh {
		if ch == c {
			if g.blocked[c] {
				g.blocked[c] = false
				g.nblocked--
			}
			g.caseCh = append(g.caseCh[:i], g.caseCh[i+1:]...)
			g.cases = append(g.cases[:i+gateFixedCases], g.cases[i+gateFixedCases+1:]...)
			return
		}
	}
}
