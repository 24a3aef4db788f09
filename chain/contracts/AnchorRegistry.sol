// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// Compiled for the "shanghai" EVM (see chain/contract.py): permissioned chains
// such as Hyperledger Besu lag mainnet, and code built for a newer EVM may use
// opcodes (e.g. MCOPY, TSTORE) that they reject.

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/// @title Registry of anchored Merkle roots of journey-event hashes.
/// @notice The admin grants WRITER to one address per organisation; a writer
/// anchors a root once. Anyone can check a root, or a leaf with its proof
/// (sorted-pair keccak256, as OpenZeppelin's StandardMerkleTree with leaves
/// given already hashed).
contract AnchorRegistry is AccessControl, Pausable {
    bytes32 public constant WRITER_ROLE = keccak256("WRITER_ROLE");

    struct Anchor {
        uint64 timestamp;
        address submitter;
        uint32 count;
        uint64 blockNumber;
    }

    error RootAlreadyAnchored(bytes32 root);
    error EmptyRoot();

    event Anchored(bytes32 indexed root, address indexed submitter, uint32 count, bytes32 ref);

    mapping(bytes32 => Anchor) private _anchors;

    /// Timestamp of an address's latest WRITER grant.
    mapping(address => uint64) public writerSince;
    /// Timestamp of the revoke that followed that grant; 0 while it holds WRITER.
    mapping(address => uint64) public writerUntil;

    constructor(address admin) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// Anchor `root`, the Merkle root of `count` leaves; `ref` is the caller's
    /// own reference (e.g. a batch id), only logged.
    function anchor(bytes32 root, uint32 count, bytes32 ref) external onlyRole(WRITER_ROLE) whenNotPaused {
        if (root == bytes32(0)) revert EmptyRoot();
        if (_anchors[root].submitter != address(0)) revert RootAlreadyAnchored(root);
        _anchors[root] = Anchor(uint64(block.timestamp), msg.sender, count, uint64(block.number));
        emit Anchored(root, msg.sender, count, ref);
    }

    /// All zero when `root` is unknown.
    function anchorOf(bytes32 root)
        external
        view
        returns (uint64 timestamp, address submitter, uint32 count, uint64 blockNumber)
    {
        Anchor storage a = _anchors[root];
        return (a.timestamp, a.submitter, a.count, a.blockNumber);
    }

    function isAnchored(bytes32 root) public view returns (bool) {
        return _anchors[root].submitter != address(0);
    }

    /// True when `root` is anchored and `proof` leads from `leaf` to it.
    function verifyLeaf(bytes32 root, bytes32 leaf, bytes32[] calldata proof) external view returns (bool) {
        return isAnchored(root) && MerkleProof.verifyCalldata(proof, root, leaf);
    }

    /// The latest period in which `account` held WRITER: (since, until), until 0
    /// while it still holds it; (0, 0) if it never did.
    function writerPeriod(address account) external view returns (uint64 since, uint64 until) {
        return (writerSince[account], writerUntil[account]);
    }

    function pause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _pause();
    }

    function unpause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _unpause();
    }

    function _grantRole(bytes32 role, address account) internal override returns (bool granted) {
        granted = super._grantRole(role, account);
        if (granted && role == WRITER_ROLE) {
            writerSince[account] = uint64(block.timestamp);
            writerUntil[account] = 0;
        }
    }

    function _revokeRole(bytes32 role, address account) internal override returns (bool revoked) {
        revoked = super._revokeRole(role, account);
        if (revoked && role == WRITER_ROLE) {
            writerUntil[account] = uint64(block.timestamp);
        }
    }
}
