package optimizer

import (
	"github.com/eddysql/eddy/planner"
)

// maxPasses bounds the rewrite loop; rules only shrink or simplify the plan,
// so a plan that still changes after this many passes means rules that undo
// each other.
const maxPasses = 16

// Options control optimization; tests disable rules to see each one fire.
type Options struct {
	// Disabled names rules to skip.
	Disabled map[string]bool
	// Fired, when not nil, collects the names of the rules that changed the
	// plan, in order.
	Fired *[]string
}

// Optimize rewrites a logical plan with the rules of each phase in turn.
func Optimize(root planner.Node, opts Options) planner.Node {
	for _, rules := range Phases {
		root = runPhase(root, rules, opts)
	}
	return root
}

// runPhase applies rules, in order, repeating the list until a pass changes
// nothing.
func runPhase(root planner.Node, rules []Rule, opts Options) planner.Node {
	for pass := 0; pass < maxPasses; pass++ {
		changed := false
		for _, r := range rules {
			if opts.Disabled[r.Name] {
				continue
			}
			var ch bool
			root, ch = applyToFixpoint(root, r)
			if ch {
				changed = true
				if opts.Fired != nil {
					*opts.Fired = append(*opts.Fired, r.Name)
				}
			}
		}
		if !changed {
			break
		}
	}
	return root
}

func applyToFixpoint(n planner.Node, r Rule) (planner.Node, bool) {
	changed := false
	for {
		next, ch := applyBottomUp(n, r)
		if !ch {
			return n, changed
		}
		n, changed = next, true
	}
}

func applyBottomUp(n planner.Node, r Rule) (planner.Node, bool) {
	children := n.Children()
	changed := false
	if len(children) > 0 {
		newChildren := make([]planner.Node, len(children))
		for i, c := range children {
			var ch bool
			newChildren[i], ch = applyBottomUp(c, r)
			changed = changed || ch
		}
		if changed {
			n = n.WithChildren(newChildren...)
		}
	}
	out, ch := r.Apply(n)
	return out, changed || ch
}
