/// InstallSnapshot (section 7), streamed in chunks.
///
/// The leader streams its latest snapshot to a follower whose next entry was compacted,
/// one chunk at a time (each acknowledged before the next), so a large state never travels
/// as one message. The follower hands each chunk to the application to stage durably and,
/// after the last chunk, asks it to install the snapshot. A transfer that stalls, or whose
/// snapshot was superseded, restarts from offset 0.
struct IncomingSnapshot: Sendable, Equatable {
    var metadata: SnapshotMetadata
    var nextOffset: UInt64
}

extension RaftNode {
    /// The metadata for a snapshot the application takes of its state at the applied index:
    /// the index, its term, and the membership in force there.
    public var snapshotMetadataAtApplied: SnapshotMetadata {
        SnapshotMetadata(index: log.applied, term: (try? log.term(at: log.applied)) ?? 0, conf: conf)
    }

    // MARK: Leader

    mutating func startSnapshotTransfer(to peer: NodeID) {
        let metadata = log.storage.snapshotMetadata()
        guard !metadata.isEmpty, progress[peer] != nil else { return }
        progress[peer]!.becomeSnapshot(metadata)
        sendSnapshotChunk(to: peer)
    }

    private mutating func sendSnapshotChunk(to peer: NodeID) {
        guard case .snapshot(var transfer) = progress[peer]?.state,
              !transfer.sentLast, transfer.sentOffset == transfer.ackedOffset else { return }
        guard log.storage.snapshotMetadata() == transfer.metadata else {
            // A newer snapshot replaced the one being sent: start over with it.
            startSnapshotTransfer(to: peer)
            return
        }
        guard let (bytes, isLast) = try? log.storage.snapshotData(offset: transfer.sentOffset,
                                                                 maxBytes: config.snapshotChunkBytes) else {
            // The snapshot cannot be read right now (the application may be replacing a
            // damaged one). Probe from what the follower is known to hold; its next answer
            // tries again, rather than retrying here without end.
            progress[peer]!.state = .probe
            progress[peer]!.becomeProbe()
            return
        }
        send(.snapshot(SnapshotChunk(metadata: transfer.metadata, offset: transfer.sentOffset,
                                     data: bytes, isLast: isLast)), to: peer)
        transfer.sentOffset += UInt64(bytes.count)
        transfer.sentLast = isLast
        progress[peer]!.state = .snapshot(transfer)
    }

    mutating func handleSnapshotResponse(from peer: NodeID, _ response: SnapshotResponse) {
        guard case .snapshot(var transfer) = progress[peer]?.state,
              response.snapshotIndex == transfer.metadata.index else { return }
        transfer.idleTicks = 0
        transfer.ackedOffset = response.rejected ? 0 : response.nextOffset
        if transfer.sentOffset != transfer.ackedOffset {
            // The follower holds a different amount than we sent: continue from its offset.
            transfer.sentOffset = transfer.ackedOffset
            transfer.sentLast = false
        }
        progress[peer]!.state = .snapshot(transfer)
        sendSnapshotChunk(to: peer)
    }

    /// Restarts transfers that made no progress for two election timeouts (a lost chunk
    /// or acknowledgement would otherwise stall them for good).
    mutating func tickSnapshotSends() {
        for peer in progress.keys where peer != id {
            guard case .snapshot(var transfer) = progress[peer]!.state else { continue }
            transfer.idleTicks += 1
            if transfer.idleTicks > 2 * config.electionTicks {
                // Probe from what the follower is known to hold, not from the snapshot.
                progress[peer]!.state = .probe
                progress[peer]!.becomeProbe()
            } else {
                progress[peer]!.state = .snapshot(transfer)
            }
        }
    }

    // MARK: Follower

    mutating func handleSnapshotChunk(from leaderID: NodeID, _ chunk: SnapshotChunk) {
        let metadata = chunk.metadata
        if let completed = snapshotReadyToInstall, completed != metadata {
            // A completed snapshot waits for the next Ready. Staging another one in that same
            // Ready would replace its staged data before the application installs it, so
            // this chunk is dropped; the leader's stalled transfer restarts on its own.
            return
        }
        if metadata.index <= log.committed {
            // We already hold everything this snapshot covers.
            incomingSnapshot = nil
            send(.appendResponse(AppendResponse(success: true, index: log.committed)), to: leaderID)
            return
        }
        if chunk.offset == 0 {
            if log.matchTerm(index: metadata.index, term: metadata.term) {
                // Our log already contains the snapshot's last entry, hence everything
                // before it (Log Matching): just commit up to it.
                incomingSnapshot = nil
                log.commit(to: metadata.index)
                send(.appendResponse(AppendResponse(success: true, index: metadata.index)), to: leaderID)
                return
            }
            incomingSnapshot = IncomingSnapshot(metadata: metadata, nextOffset: 0)
        }
        guard var incoming = incomingSnapshot, incoming.metadata == metadata, chunk.offset == incoming.nextOffset else {
            let known = incomingSnapshot?.metadata == metadata
            send(.snapshotResponse(SnapshotResponse(snapshotIndex: metadata.index,
                                                    nextOffset: known ? incomingSnapshot!.nextOffset : 0,
                                                    rejected: !known)), to: leaderID)
            return
        }
        pendingSnapshotChunks.append(chunk)
        incoming.nextOffset += UInt64(chunk.data.count)
        guard chunk.isLast else {
            incomingSnapshot = incoming
            send(.snapshotResponse(SnapshotResponse(snapshotIndex: metadata.index, nextOffset: incoming.nextOffset)),
                 to: leaderID)
            return
        }
        incomingSnapshot = nil
        log.restore(metadata)
        conf = metadata.conf
        snapshotReadyToInstall = metadata
        send(.appendResponse(AppendResponse(success: true, index: metadata.index)), to: leaderID)
    }
}
