package types

import "fmt"

// numericRank orders the numeric kinds for implicit widening, following
// Flink's LogicalTypeMerging: integers widen to wider integers, exact
// numerics to DECIMAL, and everything to the approximate types.
var numericRank = map[Kind]int{TinyInt: 1, SmallInt: 2, Int: 3, BigInt: 4, Decimal: 5, Float: 6, Double: 7}

// integerDigits is the decimal precision needed to hold each integer kind.
var integerDigits = map[Kind]int{TinyInt: 3, SmallInt: 5, Int: 10, BigInt: 19}

// AsDecimal returns the DECIMAL type that exactly holds an integer or decimal.
func AsDecimal(t DataType) DataType {
	if t.Kind == Decimal {
		return t
	}
	return DecimalType(integerDigits[t.Kind], 0).WithNullable(t.Nullable())
}

// CommonType returns the least restrictive type both a and b implicitly
// widen to (for UNION, CASE, IN, COALESCE, comparisons), or false when Flink
// would reject the combination.
func CommonType(a, b DataType) (DataType, bool) {
	nullable := a.Nullable() || b.Nullable()
	switch {
	case a.Kind == Null:
		return b.WithNullable(true).WithTimeAttr(NoTimeAttr), true
	case b.Kind == Null:
		return a.WithNullable(true).WithTimeAttr(NoTimeAttr), true
	case a.EqualIgnoringNull(b):
		return a.WithNullable(nullable).WithTimeAttr(NoTimeAttr), true
	case a.IsNumeric() && b.IsNumeric():
		return commonNumeric(a, b).WithNullable(nullable), true
	case a.IsString() && b.IsString():
		if a.Kind == Char && b.Kind == Char {
			return CharType(max(a.Length, b.Length)).WithNullable(nullable), true
		}
		return VarcharType(max(a.Length, b.Length)).WithNullable(nullable), true
	case a.IsBinary() && b.IsBinary():
		return VarbinaryType(max(a.Length, b.Length)).WithNullable(nullable), true
	case a.IsTimestamp() && b.IsTimestamp():
		k := a.Kind
		if b.Kind == TimestampLTZ {
			k = TimestampLTZ
		}
		return DataType{Kind: k, Precision: max(a.Precision, b.Precision)}.WithNullable(nullable), true
	case a.Kind == Date && b.IsTimestamp():
		return b.WithNullable(nullable).WithTimeAttr(NoTimeAttr), true
	case b.Kind == Date && a.IsTimestamp():
		return a.WithNullable(nullable).WithTimeAttr(NoTimeAttr), true
	case a.Kind == Time && b.Kind == Time:
		return TimeType(max(a.Precision, b.Precision)).WithNullable(nullable), true
	case (a.Kind == Array && b.Kind == Array) || (a.Kind == Multiset && b.Kind == Multiset):
		e, ok := CommonType(*a.Elem, *b.Elem)
		if !ok {
			return DataType{}, false
		}
		return DataType{Kind: a.Kind, Elem: &e}.WithNullable(nullable), true
	case a.Kind == Map && b.Kind == Map:
		k, okK := CommonType(*a.Key, *b.Key)
		v, okV := CommonType(*a.Value, *b.Value)
		if !okK || !okV {
			return DataType{}, false
		}
		return DataType{Kind: Map, Key: &k, Value: &v}.WithNullable(nullable), true
	case a.Kind == Row && b.Kind == Row && len(a.Fields) == len(b.Fields):
		// Field by field, named as a's (Calcite's
		// leastRestrictiveStructuredType).
		fs := make([]Field, len(a.Fields))
		for i, f := range a.Fields {
			t, ok := CommonType(f.Type, b.Fields[i].Type)
			if !ok {
				return DataType{}, false
			}
			fs[i] = Field{Name: f.Name, Type: t}
		}
		return DataType{Kind: Row, Fields: fs}.WithNullable(nullable), true
	}
	return DataType{}, false
}

func commonNumeric(a, b DataType) DataType {
	ra, rb := numericRank[a.Kind], numericRank[b.Kind]
	switch {
	case a.Kind == Decimal || b.Kind == Decimal:
		if ra > numericRank[Decimal] || rb > numericRank[Decimal] {
			return DoubleType
		}
		da, db := AsDecimal(a), AsDecimal(b)
		scale := max(da.Scale, db.Scale)
		return AdjustDecimal(max(da.Precision-da.Scale, db.Precision-db.Scale)+scale, scale)
	case ra >= rb:
		return DataType{Kind: a.Kind}
	default:
		return DataType{Kind: b.Kind}
	}
}

// AdjustDecimal bounds a derived DECIMAL to the maximum precision, giving up
// scale (never below 6 digits, or the original scale if smaller) before
// integer digits, as Flink's LogicalTypeMerging.adjustPrecisionScale does.
func AdjustDecimal(precision, scale int) DataType {
	if precision <= MaxDecimalPrecision {
		return DecimalType(precision, scale)
	}
	intDigits := precision - scale
	minScale := min(scale, 6)
	scale = max(MaxDecimalPrecision-intDigits, minScale)
	return DecimalType(MaxDecimalPrecision, scale)
}

// DecimalArithmetic derives the result type of op (one of + - * / %) on two
// exact numeric operands, following Flink's rules for DECIMAL.
func DecimalArithmetic(op byte, a, b DataType) DataType {
	a, b = AsDecimal(a), AsDecimal(b)
	p1, s1, p2, s2 := a.Precision, a.Scale, b.Precision, b.Scale
	switch op {
	case '+', '-':
		s := max(s1, s2)
		return AdjustDecimal(max(p1-s1, p2-s2)+s+1, s)
	case '*':
		return AdjustDecimal(p1+p2, s1+s2)
	case '/':
		s := max(6, s1+p2+1)
		return AdjustDecimal(p1-s1+s2+s, s)
	case '%':
		s := max(s1, s2)
		return AdjustDecimal(min(p1-s1, p2-s2)+s, s)
	}
	panic(fmt.Sprintf("types: unknown decimal operator %q", op))
}

// CanCast reports whether an explicit CAST from one type to another is
// supported (Flink's CastRuleProvider, for the types Eddy implements).
func CanCast(from, to DataType) bool {
	if from.Kind == Null {
		return true
	}
	if from.EqualIgnoringNull(to) {
		return true
	}
	switch {
	case from.Kind == Variant:
		// Flink 2.1 casts a VARIANT to the scalar it holds (FLINK-37925).
		return to.Kind == Boolean || to.IsNumeric() || to.IsString()
	case to.IsString():
		return from.Kind != Multiset
	case from.IsString():
		return to.Kind == Boolean || to.IsNumeric() || to.IsTemporal() || to.IsBinary()
	case to.Kind == Boolean:
		return from.IsNumeric()
	case to.IsNumeric():
		return from.IsNumeric() || from.Kind == Boolean || (from.IsTimestamp() && to.IsInteger())
	case to.IsBinary():
		return from.IsBinary()
	case to.Kind == Date:
		return from.IsTimestamp()
	case to.Kind == Time:
		return from.Kind == Time || from.IsTimestamp()
	case to.IsTimestamp():
		return from.IsTimestamp() || from.Kind == Date || from.IsInteger()
	case to.Kind == Array && from.Kind == Array:
		return CanCast(*from.Elem, *to.Elem)
	case to.Kind == Map && from.Kind == Map:
		return CanCast(*from.Key, *to.Key) && CanCast(*from.Value, *to.Value)
	case to.Kind == Row && from.Kind == Row && len(to.Fields) == len(from.Fields):
		for i := range to.Fields {
			if !CanCast(from.Fields[i].Type, to.Fields[i].Type) {
				return false
			}
		}
		return true
	}
	return false
}

// CanImplicitCast reports whether a value of type from may be used where to
// is expected without an explicit CAST (Flink's implicit widening).
func CanImplicitCast(from, to DataType) bool {
	if from.Kind == Null || from.EqualIgnoringNull(to) {
		return true
	}
	c, ok := CommonType(from, to)
	return ok && c.EqualIgnoringNull(to.WithTimeAttr(NoTimeAttr))
}
