// SPDX-License-Identifier: LGPL-2.1-or-later
// Nordic's own DFU client (pc-nrf-dfu-js) updating a device over a pty:
//   node nrfdfu-js-client.js PORT PACKAGE.zip
// Its serial transport takes a `serialport` object; the native serialport
// package is not needed for a pty, so a small stand-in with the same
// open/write/on('data') surface carries the bytes.
'use strict';

const fs = require('fs');
const tty = require('tty');
const { EventEmitter } = require('events');
const { DfuOperation, DfuTransportSerial, DfuUpdates } = require('pc-nrf-dfu-js');

class PtyPort extends EventEmitter {
    constructor(path) {
        super();
        this.path = path;
        this.isOpen = false;
    }

    open(callback) {
        fs.open(this.path, fs.constants.O_RDWR | fs.constants.O_NOCTTY, (err, fd) => {
            if (err) {
                callback(err);
                return;
            }
            this.fd = fd;
            this.input = new tty.ReadStream(fd);
            this.input.setRawMode(true);
            this.input.on('data', data => this.emit('data', data));
            this.isOpen = true;
            callback(null);
        });
    }

    write(data) {
        let off = 0;
        while (off < data.length) {
            try {
                off += fs.writeSync(this.fd, data, off);
            } catch (err) {
                // the pty is non-blocking once the read stream owns it
                if (err.code !== 'EAGAIN') {
                    throw err;
                }
            }
        }
        return true;
    }

    close(callback) {
        this.isOpen = false;
        this.input.destroy();
        if (callback) {
            callback();
        }
    }
}

async function main() {
    const [port, zip] = process.argv.slice(2);
    const updates = await DfuUpdates.fromZipFilePath(zip);
    const transport = new DfuTransportSerial(new PtyPort(port), 16);
    await new DfuOperation(updates, transport).start(true);
    console.log('pc-nrf-dfu-js: update sent');
}

main().then(() => process.exit(0), err => {
    console.error('pc-nrf-dfu-js:', err && err.message ? err.message : err);
    process.exit(1);
});
