package planner

import (
	"maps"
	"strings"

	"github.com/eddysql/eddy/catalog"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"
)

// Flink's hints (sql.Hint):
//
//   - OPTIONS('k' = 'v', ...) after a table name overrides or adds table
//     options for that scan or INSERT only (dynamic table options). It
//     applies to catalog tables, not to views or WITH queries.
//   - STATE_TTL('name' = 'duration', ...) after SELECT sets the idle state
//     retention of the query block's stateful operators whose input is
//     named by a key (a table's name or alias, a view's name, a derived
//     table's alias), overriding table.exec.state.ttl. A group
//     aggregate's input is the block's single FROM item; a regular
//     join's are its two sides, each with its own retention (an input
//     that is itself a join has no name). Every key must
//     name a FROM item of the block; for a key given twice the first value
//     wins, as in Flink.
//
// Other query hints (LOOKUP, BROADCAST, SHUFFLE_HASH, MULTI_JOIN, ...)
// choose among plans Eddy does not have and are accepted without effect.

const (
	hintOptions  = "OPTIONS"
	hintStateTTL = "STATE_TTL"
)

// withOptionsHint returns t with the options of the OPTIONS hints among
// hints (a scanned table's, or an INSERT target's), or t itself when there
// are none.
func withOptionsHint(hints []sql.Hint, t *catalog.Table) *catalog.Table {
	var opts map[string]string
	for _, h := range hints {
		if h.Name != hintOptions {
			continue
		}
		if opts == nil {
			opts = maps.Clone(t.Options)
			if opts == nil {
				opts = map[string]string{}
			}
		}
		for _, o := range h.Options {
			opts[o.Key] = o.Value
		}
	}
	if opts == nil {
		return t
	}
	cp := *t
	cp.Options = opts
	return &cp
}

// checkOptionsHint rejects OPTIONS on what is not a catalog table.
func (b *binder) checkOptionsHint(n *sql.TableRef, what string) error {
	for _, h := range n.Hints {
		if h.Name == hintOptions {
			return b.errAt(errs.InvalidOption, h, "%s '%s' cannot be enriched with new options. Hints can only be applied to tables.",
				what, strings.Join(n.Name.Parts, "."))
		}
	}
	return nil
}

// stateTTLHints reads the STATE_TTL hints of a query block: retention in
// milliseconds by input name. Every key must name a FROM item.
func (b *binder) stateTTLHints(s *sql.Select) (map[string]int64, error) {
	var ttl map[string]int64
	var names map[string]bool
	for _, h := range s.Hints {
		if h.Name != hintStateTTL {
			continue
		}
		if len(h.Items) > 0 || len(h.Options) == 0 {
			return nil, b.errAt(errs.InvalidOption, h, "Invalid STATE_TTL hint: it takes 'name' = 'duration' options")
		}
		if names == nil {
			names = map[string]bool{}
			fromNames(s.From, names)
			ttl = map[string]int64{}
		}
		for _, o := range h.Options {
			if !names[o.Key] {
				return nil, b.errAt(errs.InvalidOption, h,
					"The options of following hints cannot match the name of input tables or views: \n`%s` in `%s`", o.Key, h.Name)
			}
			d, err := connector.ParseDuration(o.Value)
			if err != nil {
				return nil, b.errAt(errs.InvalidOption, h, "Invalid STATE_TTL value '%s' for '%s': %v", o.Value, o.Key, err)
			}
			if _, seen := ttl[o.Key]; !seen {
				ttl[o.Key] = d.Milliseconds()
			}
		}
	}
	return ttl, nil
}

// fromNames collects the names a STATE_TTL key may use for the FROM items
// of a block: table names and aliases, derived tables' aliases.
func fromNames(t sql.TableExpr, names map[string]bool) {
	switch n := t.(type) {
	case *sql.TableRef:
		names[n.Name.Parts[len(n.Name.Parts)-1]] = true
		if n.Alias != "" {
			names[n.Alias] = true
		}
	case *sql.SubqueryRef:
		if n.Alias != "" {
			names[n.Alias] = true
		}
	case *sql.TableFunctionRef:
		if n.Alias != "" {
			names[n.Alias] = true
		}
	case *sql.Join:
		fromNames(n.Left, names)
		fromNames(n.Right, names)
	}
}

// inputTTL is the STATE_TTL hint for the single FROM item t: by its alias,
// else by its table name.
func inputTTL(t sql.TableExpr, ttl map[string]int64) (int64, bool) {
	var keys []string
	switch n := t.(type) {
	case *sql.TableRef:
		keys = []string{n.Alias, n.Name.Parts[len(n.Name.Parts)-1]}
	case *sql.SubqueryRef:
		keys = []string{n.Alias}
	case *sql.TableFunctionRef:
		keys = []string{n.Alias}
	}
	for _, k := range keys {
		if v, ok := ttl[k]; ok && k != "" {
			return v, true
		}
	}
	return 0, false
}
