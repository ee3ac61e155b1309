// Command gocached is a memcached-compatible cache daemon. It takes
// memcached's flags; see `gocached -h`.
package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"
)

// version is the gocached release; the protocol version it reports to
// clients is memcached's (server.Config.Version).
var version = "0.1.0"

func main() {
	app := newApp()
	if err := app.Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "gocached:", err)
		os.Exit(64) // EX_USAGE, as memcached exits on bad flags
	}
}

func newApp() *cli.App {
	cli.VersionFlag = &cli.BoolFlag{Name: "version", Aliases: []string{"V"}, Usage: "print version and exit"}
	cli.VersionPrinter = func(c *cli.Context) {
		fmt.Printf("gocached %s (memcached %s compatible)\n", version, memcachedVersion)
	}
	return &cli.App{
		Name:                   "gocached",
		Usage:                  "a memcached-compatible, multi-threaded cache daemon",
		Version:                version,
		UseShortOptionHandling: true,
		HideHelpCommand:        true,
		Flags:                  daemonFlags(),
		Action:                 runDaemon,
		Commands:               []*cli.Command{benchCommand(), ringCommand(), topCommand()},
		Description: "gocached takes memcached's flags with memcached's defaults.\n" +
			"Extended options (-o key=value,...): " + extendedHelp(),
	}
}
