package ptest

import (
	"fmt"
	"testing"

	"github.com/eddysql/eddy/sql"
)

func TestP(t *testing.T) {
	for _, q := range []string{
		"SELECT JSON_VALUE(s, '$.a')",
		"SELECT JSON_VALUE(s, '$.a' RETURNING INT)",
		"SELECT JSON_VALUE(s, '$.a' RETURNING INT DEFAULT 0 ON EMPTY)",
		"SELECT JSON_QUERY(s, '$.a')",
		"SELECT JSON_EXISTS(s, '$.a')",
		"SELECT s IS JSON",
		"SELECT s IS JSON OBJECT",
		"SELECT JSON_OBJECT('a' VALUE 1)",
		"SELECT JSON_OBJECT(KEY 'a' VALUE 1)",
		"SELECT JSON_ARRAY(1, 2)",
		"SELECT JSON_STRING(1)",
		"SELECT ARRAY[1,2][1], m['k'], MAP['a', 1], ROW(1, 'a'), (1, 'a')",
		"SELECT FLOOR(ts TO HOUR), CEIL(ts TO DAY)",
		"SELECT TIMESTAMPADD(HOUR, 1, ts), TIMESTAMPDIFF(DAY, a, b)",
		"SELECT OVERLAY('abc' PLACING 'x' FROM 2 FOR 1)",
		"SELECT OVERLAY('abc' PLACING 'x' FROM 2)",
		"SELECT a IS DISTINCT FROM b",
		"SELECT UUID(), UNIX_TIMESTAMP(), CURRENT_ROW_TIMESTAMP()",
		"SELECT s REGEXP 'a'",
		"SELECT REGEXP(s, 'a')",
		"SELECT CONVERT_TZ(s, 'UTC', 'Asia/Shanghai')",
		"SELECT TO_TIMESTAMP_LTZ(1, 3)",
		"SELECT PARSE_URL(s, 'HOST'), INSTR(s, 'a'), ASCII(s), CHR(65)",
		"SELECT DATE_ADD(d, 1), DATE_SUB(d, 1)",
		"SELECT TYPEOF(1), NVL(a, 1), ELEMENT(ARRAY[1])",
		"SELECT CARDINALITY(ARRAY[1,2]), ARRAY_CONTAINS(ARRAY[1], 1)",
		"SELECT TRIM(BOTH 'x' FROM s), POSITION('a' IN s)",
		"SELECT SUBSTRING(s FROM 2 FOR 1)",
		"SELECT HEX(1), UNHEX('41'), TO_BASE64(s), FROM_BASE64(s), SHA2(s, 256), SHA1(s)",
		"SELECT STR_TO_MAP(s), STR_TO_MAP(s, ',', '=')",
		"SELECT IF(a, 1, 2), DAYOFWEEK(d)",
		"SELECT ts + INTERVAL '1' DAY",
	} {
		st, err := sql.ParseStatement(q)
		if err != nil {
			fmt.Printf("%-60s ERR %v\n", q, err)
			continue
		}
		fmt.Printf("%-60s %s\n", q, sql.FormatQuery(st.(*sql.QueryStatement).Query))
	}
}
