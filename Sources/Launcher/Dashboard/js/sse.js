// Server-Sent Events read from a fetch body. The dashboard reads its streams with fetch
// rather than EventSource because EventSource cannot send headers, and with
// --control-token-file every /api/ request needs the token as one (Docs/LAUNCHER.md,
// "Access rules"); a watch also needs Last-Event-ID on its reconnects, which fetch sends.

/**
 * Calls `dispatch(event, data, id)` for each event in the stream until it ends. `id` is the
 * block's `id:` field, or null: a watch writes it only on the last event of a revision.
 */
export async function readEvents(body, dispatch) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      let id = null;
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
        else if (line.startsWith("id:")) id = line.slice(3).trim();
      }
      if (data.length) dispatch(event, data.join("\n"), id);
    }
  }
}
