// The runtime ports ("replydesk") of content scripts, the popup and the options page: events fan out to all.

const ports = new Set();

export function addPort(port) {
  ports.add(port);
}

export function removePort(port) {
  ports.delete(port);
}

export function broadcast(msg) {
  for (const port of ports) {
    try {
      port.postMessage(msg);
    } catch {
      ports.delete(port);
    }
  }
}
