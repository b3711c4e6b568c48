// Package all links every built-in connector into a program: import it for
// its side effect of registering them.
package all

import (
	_ "github.com/eddysql/eddy/table/connector/blackhole"
	_ "github.com/eddysql/eddy/table/connector/datagen"
	_ "github.com/eddysql/eddy/table/connector/filesystem"
	_ "github.com/eddysql/eddy/table/connector/jdbc"
	_ "github.com/eddysql/eddy/table/connector/kafka"
	_ "github.com/eddysql/eddy/table/connector/nexmark"
	_ "github.com/eddysql/eddy/table/connector/print"
)
