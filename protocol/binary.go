package protocol

// BinaryRequestMagic is the first byte of every binary protocol request;
// a connection whose first byte is this speaks the binary protocol.
const BinaryRequestMagic = 0x80
