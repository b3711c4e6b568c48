package agg

import (
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
)

// ARRAY_AGG collects a group's values, NULLs included (Flink's default
// RESPECT NULLS), into an ARRAY in arrival order. The planner uses it for
// PostgreSQL's ARRAY(query) too, whose rows psql's describe commands read
// (role names, reloptions); elements are strings for now.

func arrayAggType(args []types.DataType) (types.DataType, error) {
	if !args[0].IsString() {
		return types.DataType{}, fmt.Errorf("ARRAY_AGG of %s is not supported yet (only strings)", args[0])
	}
	return types.ArrayType(args[0].WithNullable(true).WithTimeAttr(types.NoTimeAttr)), nil
}

// aggList is one group's collected values; ok[i] is false for a NULL.
type aggList struct {
	vals []string
	ok   []bool
}

func (l aggList) clone() aggList {
	return aggList{vals: slices.Clone(l.vals), ok: slices.Clone(l.ok)}
}

func (l aggList) equal(o aggList) bool {
	return slices.Equal(l.vals, o.vals) && slices.Equal(l.ok, o.ok)
}

// arrayAggK keeps each group's list; a retraction removes the first
// occurrence of its value (as Flink's ArrayAggFunction.retract does). A
// group whose list empties has no value (NULL), as a group without rows.
type arrayAggK struct {
	lists         []aggList
	vw            viewer[string]
	before, after []aggList
	bOK, aOK      []bool
}

func (k *arrayAggK) grow(n int)    { k.lists = growTo(k.lists, n) }
func (k *arrayAggK) reset(s int32) { k.lists[s] = aggList{} }

func (k *arrayAggK) update(cols []arrow.Array, slots []int32, retract, act []bool) {
	n := len(slots)
	k.before, k.after = growTo(k.before[:0], n), growTo(k.after[:0], n)
	k.bOK, k.aOK = growTo(k.bOK[:0], n), growTo(k.aOK[:0], n)
	vals := k.vw.view(cols[0])
	v := validityOf(cols[0])
	for i, s := range slots {
		k.bOK[i], k.aOK[i] = false, false
		if s < 0 {
			continue
		}
		l := k.lists[s]
		k.before[i], k.bOK[i] = l.clone(), len(l.vals) > 0
		if active(act, i) {
			val, ok := "", v.ok(i)
			if ok {
				val = vals[i]
			}
			if !retract[i] {
				l.vals, l.ok = append(l.vals, strings.Clone(val)), append(l.ok, ok)
			} else {
				for j := range l.vals {
					if l.ok[j] == ok && l.vals[j] == val {
						l.vals, l.ok = slices.Delete(l.vals, j, j+1), slices.Delete(l.ok, j, j+1)
						break
					}
				}
			}
			k.lists[s] = l
		}
		k.after[i], k.aOK[i] = l, len(l.vals) > 0
	}
}

func (k *arrayAggK) changed(c []bool) {
	for i := range c {
		if k.bOK[i] != k.aOK[i] || (k.aOK[i] && !k.before[i].equal(k.after[i])) {
			c[i] = true
		}
	}
}

func (k *arrayAggK) build(mem memory.Allocator, dt arrow.DataType, rows []int32, before []bool) arrow.Array {
	b := array.NewBuilder(mem, dt).(*array.ListBuilder)
	defer b.Release()
	eb := b.ValueBuilder().(*array.StringBuilder)
	for j, r := range rows {
		l, ok := k.after[r], k.aOK[r]
		if before[j] {
			l, ok = k.before[r], k.bOK[r]
		}
		if !ok {
			b.AppendNull()
			continue
		}
		b.Append(true)
		eb.AppendValues(l.vals, l.ok)
	}
	return b.NewArray()
}

func (k *arrayAggK) appendState(dst []byte, s int32) []byte {
	l := k.lists[s]
	dst = putValues[string, strOps](dst, l.vals)
	return putValues[bool, boolOps](dst, l.ok)
}

func (k *arrayAggK) readState(src []byte, s int32) ([]byte, error) {
	var l aggList
	var err error
	if l.vals, src, err = getValues[string, strOps](src); err != nil {
		return nil, err
	}
	if l.ok, src, err = getValues[bool, boolOps](src); err != nil {
		return nil, err
	}
	if len(l.ok) != len(l.vals) {
		return nil, errCorrupt
	}
	k.lists[s] = l
	return src, nil
}
