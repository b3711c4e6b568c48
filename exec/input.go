package exec

import (
	"context"
	"reflect"
	"time"
)

// inputTracker combines the watermarks and ends of a task's input channels
// into per-input events: an input's watermark is the minimum over its
// channels (a channel that ended counts as MaxWatermark), delivered only
// when it advances; an input ends when all its channels have ended.
type inputTracker struct {
	chanInput []int       // input of each channel
	chanWM    []Watermark // last watermark of each channel
	inputWM   []Watermark // last watermark delivered per input
	open      []int       // channels not yet ended, per input
}

func newInputTracker(chanInput []int, inputs int) *inputTracker {
	t := &inputTracker{
		chanInput: chanInput,
		chanWM:    make([]Watermark, len(chanInput)),
		inputWM:   make([]Watermark, inputs),
		open:      make([]int, inputs),
	}
	for c, in := range chanInput {
		t.chanWM[c] = MinWatermark
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
	if wm <= t.chanWM[c] {
		return input, 0, false
	}
	t.chanWM[c] = wm
	min := MaxWatermark
	for ch, in := range t.chanInput {
		if in == input && t.chanWM[ch] < min {
			min = t.chanWM[ch]
		}
	}
	if min <= t.inputWM[input] {
		return input, 0, false
	}
	t.inputWM[input] = min
	return input, min, true
}

// end records the end of channel c, which counts as MaxWatermark from then
// on: it returns the input's new watermark if that advanced, and whether c
// was the input's last open channel.
func (t *inputTracker) end(c int) (input int, wm Watermark, advanced, ended bool) {
	input, wm, advanced = t.watermark(c, MaxWatermark)
	t.open[input]--
	return input, wm, advanced, t.open[input] == 0
}

// inputGate reads the elements of a task's input channels, whichever is
// ready first. Channels that ended are no longer read. When the task runs
// processing-time operators, a ticker wakes it while no input arrives.
type inputGate struct {
	chans  []<-chan Element
	cases  []reflect.SelectCase // cases[0] is ctx.Done(), cases[1] the ticker
	caseCh []int                // channel index of cases[2:]
	tick   <-chan time.Time
}

// tickChannel is the channel index next returns when the ticker fired.
const tickChannel = -1

func newInputGate(ctx context.Context, chans []<-chan Element, tick <-chan time.Time) *inputGate {
	g := &inputGate{chans: chans, tick: tick}
	g.cases = append(g.cases,
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())},
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(tick)})
	for i, ch := range chans {
		g.cases = append(g.cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ch)})
		g.caseCh = append(g.caseCh, i)
	}
	return g
}

// active is the number of channels still read.
func (g *inputGate) active() int { return len(g.caseCh) }

// next returns the next element and its channel, tickChannel when the
// ticker fired, or ctx.Err(). A single remaining channel is read without
// reflection, the common case of a forward edge. A nil ticker never fires.
func (g *inputGate) next(ctx context.Context) (int, Element, error) {
	if len(g.caseCh) == 1 {
		select {
		case e := <-g.chans[g.caseCh[0]]:
			return g.caseCh[0], e, nil
		case <-g.tick:
			return tickChannel, Element{}, nil
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
	}
	return g.caseCh[chosen-2], v.Interface().(Element), nil
}

// remove stops reading channel c after its end.
func (g *inputGate) remove(c int) {
	for i, ch := range g.caseCh {
		if ch == c {
			g.caseCh = append(g.caseCh[:i], g.caseCh[i+1:]...)
			g.cases = append(g.cases[:i+2], g.cases[i+3:]...)
			return
		}
	}
}
