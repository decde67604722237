// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Vm} from "../utils/Vm.sol";
import {SegmintToken} from "../../src/SegmintToken.sol";
import {StakingManager} from "../../src/StakingManager.sol";
import {Hashes} from "@openzeppelin/contracts/utils/cryptography/Hashes.sol";

/// @notice Drives a StakingManager with three workers bonding, unbonding, withdrawing and being
/// slashed with valid evidence (jobs repeat, so double slashes are attempted), and keeps per-worker
/// ghost totals of what went in and out.
contract StakingHandler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    SegmintToken public immutable token;
    StakingManager public immutable staking;
    address public immutable verifier;
    uint256[3] internal workerKeys = [uint256(0xA1), 0xA2, 0xA3];
    address[3] public workers;

    mapping(address => uint256) public ghostBonded;
    mapping(address => uint256) public ghostWithdrawn;
    mapping(address => uint256) public ghostSlashed;
    mapping(bytes32 => uint256) public ghostSlashesPerOffence;
    uint256 public ghostSlashAboveStake;
    uint256 public ghostDoubleSlashes;
    uint256 public ghostSlashCount;

    constructor(SegmintToken token_, StakingManager staking_, address verifier_) {
        token = token_;
        staking = staking_;
        verifier = verifier_;
        for (uint256 i; i < 3; ++i) {
            workers[i] = vm.addr(workerKeys[i]);
            vm.prank(workers[i]);
            token.approve(address(staking), type(uint256).max);
        }
    }

    function bond(uint256 who, uint256 amount) external {
        address w = workers[who % 3];
        amount = 1 + amount % 1_000 ether;
        token.mint(w, amount);
        vm.prank(w);
        staking.bond(amount);
        ghostBonded[w] += amount;
    }

    function unbond(uint256 who, uint256 amount) external {
        address w = workers[who % 3];
        uint256 bonded = staking.getStake(w).bonded;
        if (bonded == 0) return;
        vm.prank(w);
        staking.unbond(1 + amount % bonded);
    }

    /// Withdraws a worker's unbonding stake, jumping to the end of its unbonding period if needed.
    function withdraw(uint256 who) external {
        address w = workers[who % 3];
        StakingManager.Stake memory st = staking.getStake(w);
        if (st.unbonding == 0) return;
        if (block.timestamp < st.withdrawableAt) vm.warp(st.withdrawableAt);
        uint256 before = token.balanceOf(w);
        vm.prank(w);
        staking.withdraw();
        ghostWithdrawn[w] += token.balanceOf(w) - before;
    }

    function warp(uint256 secs) external {
        vm.warp(block.timestamp + secs % 10 days);
    }

    /// Slashes a worker over job number `job % 16` (so the same offence comes back often),
    /// disputing one of its four renditions with a correctly signed commitment and proof.
    function slash(uint256 who, uint256 job, uint256 leaf) external {
        uint256 i = who % 3;
        // forge-lint: disable-next-line(unsafe-typecast) -- 65 + job % 16 < 256
        string memory jobId = string(abi.encodePacked("job-", bytes1(uint8(65 + job % 16))));
        StakingManager.SlashEvidence memory ev = _evidence(jobId, leaf % 4, workerKeys[i]);
        _slash(workers[i], ev);
    }

    function _slash(address w, StakingManager.SlashEvidence memory ev) internal {
        StakingManager.Stake memory s = staking.getStake(w);
        uint256 stakeBefore = uint256(s.bonded) + s.unbonding;
        uint256 heldBefore = token.balanceOf(address(staking));
        vm.prank(verifier);
        try staking.slash(w, ev) {
            uint256 taken = heldBefore - token.balanceOf(address(staking));
            if (taken > stakeBefore) ghostSlashAboveStake++;
            bytes32 offence = keccak256(abi.encode(w, keccak256(bytes(ev.jobId))));
            if (++ghostSlashesPerOffence[offence] > 1) ghostDoubleSlashes++;
            ghostSlashed[w] += taken;
            ghostSlashCount++;
        } catch {}
    }

    function _evidence(string memory jobId, uint256 i, uint256 key)
        internal
        view
        returns (StakingManager.SlashEvidence memory ev)
    {
        string[4] memory names = ["1080p", "720p", "480p", "360p"];
        bytes32[4] memory leaves;
        for (uint256 k; k < 4; ++k) {
            leaves[k] = keccak256(bytes.concat(keccak256(abi.encode(jobId, names[k], _sha(jobId, names[k])))));
        }
        bytes32 left = Hashes.commutativeKeccak256(leaves[0], leaves[1]);
        bytes32 right = Hashes.commutativeKeccak256(leaves[2], leaves[3]);
        bytes32[] memory proof = new bytes32[](2);
        proof[0] = leaves[i ^ 1];
        proof[1] = i < 2 ? right : left;
        ev.jobId = jobId;
        ev.root = Hashes.commutativeKeccak256(left, right);
        ev.signature = _sign(key, staking.commitmentDigest(jobId, ev.root));
        ev.rendition = names[i];
        ev.committedHash = _sha(jobId, names[i]);
        ev.proof = proof;
        ev.correctHash = bytes32(uint256(1));
    }

    function _sha(string memory jobId, string memory name) internal pure returns (bytes32) {
        return sha256(abi.encodePacked(jobId, name));
    }

    function _sign(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }
}
