package server

// processBinary handles the binary protocol. Not implemented yet: the
// connection is closed, as memcached closes one it cannot parse.
func (c *conn) processBinary() action { return actClose }
